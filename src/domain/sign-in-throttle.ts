/**
 * How many wrong passwords the dashboard's sign-in takes, and how fast. Counted per account (the
 * email typed, known or not) and per client address, over a sliding window:
 * - an account takes at most 10 failures in 15 minutes; the next attempt, with the right password
 *   or not, waits until the oldest of those 10 leaves the window;
 * - before that the waits grow: after the 3rd failure the next attempt waits 1 s, then 2, 4, 8,
 *   16 and 30 s (at most), counted from the latest failure. They are answered as 429s with
 *   Retry-After rather than by holding the answer back: a held answer costs wall time in every
 *   isolate and does nothing against parallel guesses, while a refusal is free and the limit
 *   still counts exactly (services/sign-in-throttle reserves each attempt atomically);
 * - one address takes at most 50 failures in 15 minutes, over every account it tries.
 */

export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;
export const ACCOUNT_FAILURE_LIMIT = 10;
export const ADDRESS_FAILURE_LIMIT = 50;
const FREE_FAILURES = 2;
const LONGEST_WAIT_MS = 30_000;

/** Failure times (ms, ascending) inside the window that ends now. */
export interface RecentFailures {
  account: number[];
  address: number[];
}

/** How long after an account's latest failure its next attempt waits, given how many it has. */
export function waitAfterFailures(failures: number): number {
  if (failures <= FREE_FAILURES) {
    return 0;
  }
  return Math.min(1000 * 2 ** (failures - FREE_FAILURES - 1), LONGEST_WAIT_MS);
}

/** Milliseconds until an attempt may be made; 0 when it may be made now. */
export function signInWait(failures: RecentFailures, now: number): number {
  const untilBelow = (times: number[], limit: number) => {
    const oldestCounted = times[times.length - limit];
    return oldestCounted === undefined ? 0 : oldestCounted + SIGN_IN_WINDOW_MS - now;
  };
  const latest = failures.account.at(-1);
  const spacing =
    latest === undefined ? 0 : latest + waitAfterFailures(failures.account.length) - now;
  return Math.max(
    0,
    spacing,
    untilBelow(failures.account, ACCOUNT_FAILURE_LIMIT),
    untilBelow(failures.address, ADDRESS_FAILURE_LIMIT),
  );
}

/**
 * The address an attempt is counted under: an IPv4 address as it is, an IPv6 one as its /64 (one
 * client usually holds a whole /64, so counting single addresses would count nothing). Without an
 * address (`CF-Connecting-IP` is set by Cloudflare's edge, so only local runs lack it) every
 * attempt shares one.
 */
export function signInAddress(ip: string | undefined): string {
  const trimmed = ip?.trim().toLowerCase() ?? "";
  if (trimmed === "") {
    return "local";
  }
  // IPv4, and IPv6 with an IPv4 tail (::ffff:192.0.2.1), are kept whole.
  if (!trimmed.includes(":") || trimmed.includes(".")) {
    return trimmed;
  }
  const [head = "", tail, ...more] = trimmed.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  if (more.length > 0 || left.length + right.length > 8) {
    return trimmed;
  }
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  const groups = [...left, ...zeros, ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
