/**
 * The per-API-key request limit: its defaults, its bounds, and the limit a key actually gets.
 * A key's limit is a token bucket (domain/token-bucket.ts): `perSecond` is the refill rate and
 * `burst` the bucket's size, so a quiet key may make `burst` requests at once.
 */

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** What a key gets when it has no limit of its own. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = { perSecond: 200, burst: 400 };

export const RATE_LIMIT_BOUNDS = {
  perSecond: { min: 1, max: 100_000 },
  /** The burst's lower bound is the key's own `perSecond`. */
  burst: { max: 1_000_000 },
} as const;

/** A limit as a client asks for it: the burst may be left out. */
export interface RateLimitRequest {
  perSecond: number;
  burst?: number;
}

/** A limit as asked for: the burst defaults to twice the rate (at most the burst's bound). */
export function requestedRateLimit(input: RateLimitRequest): RateLimit {
  return {
    perSecond: input.perSecond,
    burst: input.burst ?? Math.min(input.perSecond * 2, RATE_LIMIT_BOUNDS.burst.max),
  };
}

/** Why a burst does not fit its rate, or null when it does (each is bounded on its own too). */
export function burstProblem(limit: RateLimit): string | null {
  return limit.burst < limit.perSecond ? `must be at least per_second (${limit.perSecond})` : null;
}

/** The limit a key gets from its stored columns: its own, or the defaults where unset. */
export function effectiveRateLimit(stored: {
  rateLimitPerSecond: number | null;
  rateLimitBurst: number | null;
}): RateLimit {
  if (stored.rateLimitPerSecond === null) {
    return { ...DEFAULT_RATE_LIMIT };
  }
  // A row edited by hand must still give a bucket that refills and holds one second's worth.
  const perSecond = Math.max(stored.rateLimitPerSecond, RATE_LIMIT_BOUNDS.perSecond.min);
  const { burst } = requestedRateLimit({ perSecond, burst: stored.rateLimitBurst ?? undefined });
  return { perSecond, burst: Math.max(burst, perSecond) };
}

/** The limit as the API shows it. */
export function describeRateLimit(limit: RateLimit): string {
  const requests = limit.perSecond === 1 ? "request" : "requests";
  return `${limit.perSecond} ${requests} per second (bursts of up to ${limit.burst})`;
}
