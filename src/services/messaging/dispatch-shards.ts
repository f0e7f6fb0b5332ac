/**
 * Which dispatcher shards hold a tenant's traffic (domain/dispatch-shards), for the calls that are
 * not about one recipient: settings, opt-outs, reads and cancels by id, wake-ups.
 */
import { eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { optOuts, tenants } from "../../db/schema";
import { allShards, type DispatcherStub, dispatcherShard } from "../../delivery/dispatcher";

export interface ShardCount {
  dispatchShards: number;
  previousDispatchShards: number | null;
}

/** Shard counts of these tenants, from D1 (a tenant it lacks counts as one shard). */
export async function shardCounts(env: Env, tenantIds: string[]): Promise<Map<string, ShardCount>> {
  const counts = new Map<string, ShardCount>();
  if (tenantIds.length === 0) {
    return counts;
  }
  const rows = await database(env.DB)
    .select({
      id: tenants.id,
      dispatchShards: tenants.dispatchShards,
      previousDispatchShards: tenants.previousDispatchShards,
    })
    .from(tenants)
    .where(inArray(tenants.id, tenantIds));
  for (const row of rows) {
    counts.set(row.id, row);
  }
  return counts;
}

/** Every shard of the tenant (one stub for an unsharded tenant). */
export function shardStubs(
  env: Env,
  tenantId: string,
  count: ShardCount | undefined,
): DispatcherStub[] {
  const shards = count ? allShards(count) : [0];
  return shards.map((shard) => dispatcherShard(env, tenantId, shard));
}

/** Tells every shard of the tenant of a number's opt-out (or opt-in), shard 0 first. */
export async function setOptOutOnShards(
  env: Env,
  change: { tenantId: string; phone: string; optedOut: boolean },
): Promise<void> {
  const counts = await shardCounts(env, [change.tenantId]);
  for (const stub of shardStubs(env, change.tenantId, counts.get(change.tenantId))) {
    await stub.setOptOut(change);
  }
}

/**
 * Copies the tenant's opted-out numbers (D1's record) into these shards, a thousand to a call:
 * a shard that did not exist when a number opted out has never been told of it.
 */
export async function copyOptOutsTo(
  env: Env,
  tenantId: string,
  shards: number[],
  replace: boolean,
): Promise<void> {
  const rows = await database(env.DB)
    .select({ phone: optOuts.phone })
    .from(optOuts)
    .where(eq(optOuts.tenantId, tenantId));
  const phones = rows.map((row) => row.phone);
  for (const shard of shards) {
    for (let i = 0; i === 0 || i < phones.length; i += 1000) {
      await dispatcherShard(env, tenantId, shard).copyOptOuts({
        tenantId,
        phones: phones.slice(i, i + 1000),
        // Only the first call empties it: the later ones add to what the first put there.
        replace: replace && i === 0,
      });
    }
  }
}

/** Asks each shard in turn until one answers with something (shard 0 first). */
export async function firstAnswer<T>(
  stubs: DispatcherStub[],
  ask: (stub: DispatcherStub) => Promise<T | null>,
): Promise<T | null> {
  for (const stub of stubs) {
    const answer = await ask(stub);
    if (answer !== null) {
      return answer;
    }
  }
  return null;
}
