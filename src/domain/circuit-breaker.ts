/**
 * A circuit breaker for one provider: it opens after `consecutiveFailures` failures in a row, or
 * when at least `minRequests` calls in the last `windowMs` failed at `failureRate` or more; while
 * open, calls are refused for `openMs`; then it is half-open and lets one probe through at a time:
 * a success closes it, a failure opens it again.
 */

export interface BreakerOptions {
  consecutiveFailures: number;
  failureRate: number;
  minRequests: number;
  windowMs: number;
  openMs: number;
}

// A provider failing now and then (even 40% of calls) keeps its circuit closed: failover and
// retries handle it. One that is down (nearly every call failing) trips within ten calls.
export const DEFAULT_BREAKER: BreakerOptions = {
  consecutiveFailures: 10,
  failureRate: 0.7,
  minRequests: 30,
  windowMs: 30_000,
  openMs: 10_000,
};

export type BreakerState = "closed" | "open" | "half-open";

export class CircuitBreaker {
  private consecutive = 0;
  private calls: { at: number; ok: boolean }[] = [];
  private openedAt: number | null = null;
  private probing = false;

  constructor(private readonly options: BreakerOptions = DEFAULT_BREAKER) {}

  state(now: number): BreakerState {
    if (this.openedAt === null) {
      return "closed";
    }
    return now - this.openedAt >= this.options.openMs ? "half-open" : "open";
  }

  /** Whether a call may go now; in half-open, only one probe at a time. */
  allow(now: number): boolean {
    const state = this.state(now);
    if (state === "closed") {
      return true;
    }
    if (state === "half-open" && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  /** The outcome of a call that went: `ok` false for a retryable failure or no answer. */
  record(ok: boolean, now: number): void {
    const state = this.state(now);
    this.probing = false;
    if (state === "half-open") {
      if (ok) {
        this.reset();
      } else {
        this.openedAt = now;
      }
      return;
    }
    this.consecutive = ok ? 0 : this.consecutive + 1;
    this.calls.push({ at: now, ok });
    this.calls = this.calls.filter((call) => call.at > now - this.options.windowMs);
    const failed = this.calls.filter((call) => !call.ok).length;
    const rateTripped =
      this.calls.length >= this.options.minRequests &&
      failed / this.calls.length >= this.options.failureRate;
    if (this.consecutive >= this.options.consecutiveFailures || rateTripped) {
      this.openedAt = now;
    }
  }

  private reset(): void {
    this.openedAt = null;
    this.consecutive = 0;
    this.calls = [];
  }
}
