/**
 * Sharded dispatch: a tenant's dispatcher split into N objects by recipient, so that one hot
 * tenant is not one Durable Object's request rate. Pure rules, no I/O.
 *
 * - A recipient always lands on one shard (`shardOf`), so its messages keep their order and its
 *   "one awaiting a send result at a time" rule, as with one dispatcher.
 * - Shard 0 is the tenant's original object: with N = 1 nothing moves, and it is the home of the
 *   tenant's idempotency keys (`keyHomeShard`) and of its budget.
 * - The send rate is split equally (`shardRates`), the remainder one each to the first shards,
 *   so the shards' rates add up to the tenant's exactly and never more. Chosen over a token lease
 *   from a limiter object: no extra call per release tick, no single object every shard waits on,
 *   and a recipient hash spreads a large audience evenly; its cost is that a shard with no demand
 *   leaves its share unused (a tenant whose traffic goes to a few recipients should stay at 1).
 */

/** The most shards one tenant may have. */
export const MAX_DISPATCH_SHARDS = 32;

/** FNV-1a over the UTF-16 code units: stable across isolates and releases. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard of a recipient (a phone number, or an openid) among `shards`. */
export function shardOf(recipient: string, shards: number): number {
  return shards <= 1 ? 0 : stableHash(recipient) % shards;
}

/** Where an idempotency key's record lives, whatever the recipient: the home shard. */
export function keyHomeShard(): number {
  return 0;
}

/** Each shard's send rate: equal parts of `rate` adding up to it exactly. */
export function shardRates(rate: number, shards: number): number[] {
  const n = Math.max(1, shards);
  const base = Math.floor(rate / n);
  const extra = rate - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * During a change of N, the shard a recipient had before, when it differs from its shard now
 * (its new messages go there while that shard still holds one of its messages); else null.
 */
export function previousShardOf(
  recipient: string,
  shards: number,
  previousShards: number | null,
): number | null {
  if (previousShards === null || previousShards === shards) {
    return null;
  }
  const before = shardOf(recipient, previousShards);
  return before === shardOf(recipient, shards) ? null : before;
}
