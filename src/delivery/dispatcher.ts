// Typed through the generated Env (its DISPATCHER binding names the class), so this layer does not
// import the object it calls.
type Namespace = Env["DISPATCHER"];
export type DispatcherStub = ReturnType<Namespace["get"]>;

const MAX_CACHED_IDS = 10_000;
// idFromName hashes the name on every call, and every accepted message needs its tenant's object.
// An id is a plain value (unlike a stub, which belongs to the request that made it), so each
// isolate keeps the ids of the tenants it has seen, per namespace binding.
const ids = new WeakMap<Namespace, Map<string, DurableObjectId>>();

/** The tenant's dispatcher; the name is derived from our own id, never from user input. */
export function dispatcherOf(env: Env, tenantId: string): DispatcherStub {
  const namespace = env.DISPATCHER;
  let known = ids.get(namespace);
  if (!known) {
    known = new Map();
    ids.set(namespace, known);
  }
  let id = known.get(tenantId);
  if (!id) {
    if (known.size >= MAX_CACHED_IDS) {
      known.clear();
    }
    id = namespace.idFromName(`tenant:${tenantId}`);
    known.set(tenantId, id);
  }
  return namespace.get(id);
}
