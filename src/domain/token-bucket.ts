/**
 * Token-bucket arithmetic, shared by the per-key request limit and the tenant's send rate.
 * A bucket holds at most `burst` tokens and refills at `rate` tokens per second.
 */

export interface BucketState {
  tokens: number;
  /** When `tokens` was last computed (ms). */
  at: number;
}

export interface BucketLimits {
  rate: number;
  burst: number;
}

/** The bucket as of `now` (a new bucket starts full). */
export function refill(
  state: BucketState | undefined,
  limits: BucketLimits,
  now: number,
): BucketState {
  if (!state) {
    return { tokens: limits.burst, at: now };
  }
  const elapsed = Math.max(0, now - state.at) / 1000;
  return { tokens: Math.min(limits.burst, state.tokens + elapsed * limits.rate), at: now };
}

export type TakeResult =
  | { ok: true; state: BucketState }
  | { ok: false; state: BucketState; retryAfterMs: number };

/** Takes `count` tokens if the bucket has them; otherwise says when it will. */
export function take(
  state: BucketState | undefined,
  limits: BucketLimits,
  now: number,
  count = 1,
): TakeResult {
  const current = refill(state, limits, now);
  if (current.tokens >= count) {
    return { ok: true, state: { tokens: current.tokens - count, at: now } };
  }
  const retryAfterMs =
    limits.rate > 0 ? Math.ceil(((count - current.tokens) / limits.rate) * 1000) : Infinity;
  return { ok: false, state: current, retryAfterMs };
}
