/**
 * When a failed webhook delivery is tried again: exponential backoff with "equal jitter" (half
 * the step fixed, half random, so the schedule always advances) from 30 s, each delay at most
 * 12 h (a queue message's longest delay), for 24 h from the start of the series; the last
 * attempt is made at the 24 h mark.
 */

export const RETRY_BASE_SECONDS = 30;
export const MAX_DELAY_SECONDS = 12 * 60 * 60;
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Seconds to wait after the `attempt`-th failed attempt of a series (1-based), or null when the
 * series is over and the delivery has failed.
 */
export function webhookRetryDelay(
  attempt: number,
  seriesStartedAt: number,
  now: number,
  random: () => number = Math.random,
): number | null {
  const remainingMs = seriesStartedAt + RETRY_WINDOW_MS - now;
  if (remainingMs <= 0) {
    return null;
  }
  const step = Math.min(MAX_DELAY_SECONDS, RETRY_BASE_SECONDS * 2 ** Math.max(0, attempt - 1));
  const delay = Math.round(step / 2 + (random() * step) / 2);
  return Math.max(1, Math.min(delay, Math.ceil(remainingMs / 1000)));
}
