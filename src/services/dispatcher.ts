import type { TenantDispatcher } from "../durable-objects/tenant-dispatcher";

/** The tenant's dispatcher; the name is derived from our own id, never from user input. */
export function dispatcherOf(env: Env, tenantId: string): DurableObjectStub<TenantDispatcher> {
  return env.DISPATCHER.get(env.DISPATCHER.idFromName(`tenant:${tenantId}`));
}
