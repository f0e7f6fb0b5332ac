/**
 * The limits on verification sends (issue 16), as plain arithmetic: which rule refuses a send and
 * how long until it would not. The counters themselves live in the limiter objects
 * (durable-objects/verification-limiter); these functions only read what the objects counted.
 *
 * Every window slides: an event at `t` counts while `now < t + window`, so with 1 a minute a send
 * at 12:00:00.000 refuses the next until 12:01:00.000 exactly, and no burst fits at a boundary.
 */

/** The rules a refusal names (the 429 problem's `limit` member). */
export const LIMIT_NAMES = [
  "number_minute",
  "number_hour",
  "number_day",
  "platform_number",
  "prefix_velocity",
  "country_day",
  "low_conversion",
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** A tenant's `verification_limits`: sends per recipient, per number range and per country. */
export interface VerificationLimits {
  /** Sends to one recipient (a number, or a WeChat openid) in any 60 s. */
  perMinute: number;
  perHour: number;
  perDay: number;
  /** Sends to one number range (the number less its last 4 digits) in any hour. */
  prefixPerHour: number;
  /** Sends to one country's numbers in any 24 h. */
  countryPerDay: number;
}

/** The defaults for the recipient; the range and country caps leave room for real use. */
export const DEFAULT_VERIFICATION_LIMITS: VerificationLimits = {
  perMinute: 1,
  perHour: 5,
  perDay: 10,
  prefixPerHour: 30,
  countryPerDay: 10_000,
};

/**
 * A tenant's `fraud_guard`: refuse sends to a number range or country whose conversion
 * (verifications approved ÷ codes sent, over the last hour) is below `threshold` once at least
 * `minVolume` codes went there in that hour. Pumping sends many codes that nobody ever enters.
 */
export interface FraudGuard {
  enabled: boolean;
  threshold: number;
  minVolume: number;
}

export const DEFAULT_FRAUD_GUARD: FraudGuard = { enabled: true, threshold: 0.2, minVolume: 20 };

/** The platform's own cap: codes to one phone number from all tenants together in any 24 h. */
export const PLATFORM_NUMBER_PER_DAY = 20;

/**
 * How many objects share the platform-wide counters: each number is counted by exactly one shard,
 * so the cap stays exact, and no single object takes every tenant's traffic.
 */
export const PLATFORM_NUMBER_SHARDS = 64;

export interface VerificationSettings {
  limits: VerificationLimits;
  fraudGuard: FraudGuard;
}

/** The settings as the tenants row stores them (null: never changed, the defaults apply). */
export function verificationSettingsOf(
  limits: Partial<VerificationLimits> | null,
  fraudGuard: Partial<FraudGuard> | null,
): VerificationSettings {
  return {
    limits: { ...DEFAULT_VERIFICATION_LIMITS, ...limits },
    fraudGuard: { ...DEFAULT_FRAUD_GUARD, ...fraudGuard },
  };
}

/** A phone number's range for the prefix velocity and the guard: E.164 less its last 4 digits. */
export function numberRangeOf(e164: string): string {
  return e164.slice(0, -4);
}

/** True for a recipient that is a phone number in E.164 (a WeChat openid is not). */
export function isE164(recipient: string): boolean {
  return /^\+[1-9][0-9]{5,14}$/.test(recipient);
}

/** Which platform shard counts a number (FNV-1a: stable across isolates and deployments). */
export function platformShardOf(e164: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < e164.length; i++) {
    hash ^= e164.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % PLATFORM_NUMBER_SHARDS;
}

/**
 * Milliseconds until a window with `cap` events admits one more, or null if it admits now.
 * `capthNewest` is the time of the cap-th most recent event still inside the window (undefined
 * when fewer than `cap` are): once it leaves, at most cap - 1 remain.
 */
export function windowWaitMs(
  capthNewest: number | undefined,
  windowMs: number,
  now: number,
): number | null {
  if (capthNewest === undefined || capthNewest + windowMs <= now) {
    return null;
  }
  return capthNewest + windowMs - now;
}

function tripped(sent: number, approved: number, guard: FraudGuard): boolean {
  return guard.enabled && sent >= guard.minVolume && approved < guard.threshold * sent;
}

/**
 * Milliseconds until the guard lets a range or country have codes again, or null if it does now.
 * `sends` and `approvals` are the times within the last hour. With no new approvals it recovers
 * as sends leave the hour (volume or rate), which is the wait given; an approval may end it sooner.
 */
export function conversionWaitMs(
  sends: readonly number[],
  approvals: readonly number[],
  guard: FraudGuard,
  now: number,
): number | null {
  const since = now - HOUR_MS;
  const sent = [...sends].filter((at) => at > since).sort((a, b) => a - b);
  const approved = [...approvals].filter((at) => at > since).sort((a, b) => a - b);
  if (!tripped(sent.length, approved.length, guard)) {
    return null;
  }
  // Walk the moments an event leaves the hour, in order, until the guard would let go.
  let s = 0;
  let a = 0;
  while (s < sent.length || a < approved.length) {
    const nextSend = s < sent.length ? sent[s] : Number.POSITIVE_INFINITY;
    const nextApproval = a < approved.length ? approved[a] : Number.POSITIVE_INFINITY;
    const leaves = Math.min(nextSend ?? Infinity, nextApproval ?? Infinity);
    while (s < sent.length && sent[s] === leaves) {
      s++;
    }
    while (a < approved.length && approved[a] === leaves) {
      a++;
    }
    if (!tripped(sent.length - s, approved.length - a, guard)) {
      return leaves + HOUR_MS - now;
    }
  }
  // Unreachable: with every event gone the volume is 0, below any minimum of at least 1.
  return HOUR_MS;
}

/** Whole seconds for Retry-After, rounded up so a client that waits that long gets through. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** The UTC day (`YYYY-MM-DD`) a moment falls on: refusals are counted per such day. */
export function utcDayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}
