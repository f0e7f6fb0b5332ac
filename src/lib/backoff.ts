/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * attempt n waits a random time in [0, min(max, base * 2^(n-1))], never less than the floor.
 */
export function backoffSeconds(
  attempt: number,
  options: { baseSeconds: number; maxSeconds: number; random?: () => number },
): number {
  const random = options.random ?? Math.random;
  const ceiling = Math.min(options.maxSeconds, options.baseSeconds * 2 ** Math.max(0, attempt - 1));
  const floor = Math.min(options.baseSeconds, ceiling);
  return Math.round(floor + random() * (ceiling - floor));
}
