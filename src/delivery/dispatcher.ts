import type { AcceptRequest, AcceptResult } from "./dispatcher-types";

// Typed through the generated Env (its DISPATCHER binding names the class), so this layer does not
// import the object it calls.
type Namespace = Env["DISPATCHER"];
export type DispatcherStub = ReturnType<Namespace["get"]>;

const MAX_CACHED_IDS = 10_000;
// idFromName hashes the name on every call, and every accepted message needs its tenant's object.
// An id is a plain value (unlike a stub, which belongs to the request that made it), so each
// isolate keeps the ids of the tenants it has seen, per namespace binding.
const ids = new WeakMap<Namespace, Map<string, DurableObjectId>>();

/**
 * The tenant's dispatcher (its shard 0, the original object); the name is derived from our own
 * id, never from user input.
 */
export function dispatcherOf(env: Env, tenantId: string): DispatcherStub {
  return dispatcherShard(env, tenantId, 0);
}

/**
 * One shard of the tenant's dispatcher (domain/dispatch-shards): shard 0 is the object a tenant
 * has always had, so one shard changes nothing; shard k > 0 is named after it.
 */
export function dispatcherShard(env: Env, tenantId: string, shard: number): DispatcherStub {
  const name = shard === 0 ? `tenant:${tenantId}` : `tenant:${tenantId}:shard:${shard}`;
  const namespace = env.DISPATCHER;
  let known = ids.get(namespace);
  if (!known) {
    known = new Map();
    ids.set(namespace, known);
  }
  let id = known.get(name);
  if (!id) {
    if (known.size >= MAX_CACHED_IDS) {
      known.clear();
    }
    id = namespace.idFromName(name);
    known.set(name, id);
  }
  return namespace.get(id);
}

/** Every shard a tenant's traffic may be on: its shards now and, during a change, before. */
export function allShards(tenant: {
  dispatchShards: number;
  previousDispatchShards: number | null;
}): number[] {
  const n = Math.max(tenant.dispatchShards, tenant.previousDispatchShards ?? 1);
  return Array.from({ length: n }, (_, i) => i);
}

/** A key for grouping a queue batch's reports by the shard that released each message. */
export function shardKey(tenantId: string, shard: number | undefined): string {
  return `${shard ?? 0}:${tenantId}`;
}

/** The shard a `shardKey` names. */
export function dispatcherOfKey(env: Env, key: string): DispatcherStub {
  const at = key.indexOf(":");
  return dispatcherShard(env, key.slice(at + 1), Number(key.slice(0, at)));
}

/**
 * Accepts a message on its shard (domain/dispatch-shards): while N changes, on the shard its
 * recipient had before if that one still holds a message of theirs (their order is kept there),
 * else on its shard now. `local` accepts on the calling object itself when it is the shard.
 */
export async function acceptRouted(
  env: Env,
  request: AcceptRequest,
  target: number,
  previous: number | null,
  local?: {
    shard: number;
    accept: (request: AcceptRequest) => Promise<AcceptResult>;
    acceptIfHolding: (request: AcceptRequest) => Promise<AcceptResult | { kind: "not-held" }>;
  },
): Promise<AcceptResult> {
  const tenantId = request.message.tenantId;
  if (previous !== null) {
    const onPrevious = { ...request, shard: previous };
    const held =
      local && local.shard === previous
        ? await local.acceptIfHolding(onPrevious)
        : await dispatcherShard(env, tenantId, previous).acceptIfHolding(onPrevious);
    if (held.kind !== "not-held") {
      return held;
    }
  }
  if (local && local.shard === target) {
    return local.accept({ ...request, shard: target });
  }
  return dispatcherShard(env, tenantId, target).accept({ ...request, shard: target });
}
