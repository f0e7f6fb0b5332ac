/**
 * The per-API-key request limit, enforced by requireScope (api-key.ts) once a key is known to be
 * valid and to hold the route's scope: a 401 or 403 never spends a token.
 *
 * The buckets are isolate-local on purpose. Checking them costs no I/O on the hot path (the limit
 * itself comes from the cached key entry), where a shared counter would cost a Durable Object call
 * or a D1 write per request, which DESIGN.md's limits table rules out (one DO serves ~1,000 req/s;
 * KV is eventually consistent). Within one isolate the limit is exact; across the isolates
 * Cloudflare runs in production it is approximate, as Cloudflare's own rate limiting is.
 */
import { describeRateLimit, type RateLimit } from "../domain/rate-limits";
import { type BucketState, take } from "../domain/token-bucket";
import { ApiError } from "../lib/problem";

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

/** One token bucket per key id, at most `maxKeys` of them (least recently used go first). */
export class KeyRequestLimiter {
  private readonly buckets = new Map<string, BucketState>();

  constructor(private readonly maxKeys = 10_000) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Spends one of the key's tokens at `now` (ms), or says how long until one is available. */
  admit(keyId: string, limit: RateLimit, now: number): Admission {
    const state = this.buckets.get(keyId);
    const result = take(state, { rate: limit.perSecond, burst: limit.burst }, now);
    // Re-inserting keeps the Map in least-recently-used order, so eviction takes the oldest.
    this.buckets.delete(keyId);
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) {
        this.buckets.delete(oldest.value);
      }
    }
    this.buckets.set(keyId, result.state);
    if (result.ok) {
      return { ok: true };
    }
    // Retry-After is in whole seconds; round up so a client that waits that long gets through.
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(result.retryAfterMs / 1000)) };
  }
}

const limiter = new KeyRequestLimiter();

/** Spends a token of the key's request limit, or throws the 429 that refuses the request. */
export function enforceRequestLimit(keyId: string, limit: RateLimit, now: number): void {
  const admission = limiter.admit(keyId, limit, now);
  if (!admission.ok) {
    throw new ApiError(
      "rate-limited",
      `This API key is limited to ${describeRateLimit(limit)}; retry after ${admission.retryAfterSeconds} s.`,
      { headers: { "Retry-After": String(admission.retryAfterSeconds) } },
    );
  }
}
