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
// retries handle it. One that is down (nearly every call failing) trips within twenty calls. The
// run of failures is long because a consumer makes a hundred calls at once, and their time-outs
// all end together, one after another.
export const DEFAULT_BREAKER: BreakerOptions = {
  consecutiveFailures: 20,
  failureRate: 0.7,
  minRequests: 30,
  windowMs: 30_000,
  openMs: 10_000,
};

export type BreakerState = "closed" | "open" | "half-open";

/** A call the breaker let through: its result is recorded against it. */
export interface BreakerTicket {
  startedAt: number;
  probe: boolean;
}

/**
 * The results of the last `windowMs`, oldest first, with their failures counted: recording one
 * costs the same however many are in the window (a consumer records hundreds a second).
 */
class ResultWindow {
  private at: number[] = [];
  private ok: boolean[] = [];
  /** Entries before it have left the window. */
  private head = 0;
  failed = 0;

  get size(): number {
    return this.at.length - this.head;
  }

  add(at: number, ok: boolean): void {
    this.at.push(at);
    this.ok.push(ok);
    if (!ok) {
      this.failed++;
    }
  }

  /** Forgets results at or before `cutoff`; results arrive in time order, so they leave in it. */
  dropUntil(cutoff: number): void {
    while (this.head < this.at.length && (this.at[this.head] ?? cutoff) <= cutoff) {
      if (!this.ok[this.head]) {
        this.failed--;
      }
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.at.length) {
      this.at = this.at.slice(this.head);
      this.ok = this.ok.slice(this.head);
      this.head = 0;
    }
  }
}

export class CircuitBreaker {
  private consecutive = 0;
  private calls = new ResultWindow();
  private openedAt: number | null = null;
  /** When the breaker last changed state: results of calls started before it are stale. */
  private changedAt = Number.NEGATIVE_INFINITY;
  private probing = false;

  constructor(private readonly options: BreakerOptions = DEFAULT_BREAKER) {}

  state(now: number): BreakerState {
    if (this.openedAt === null) {
      return "closed";
    }
    return now - this.openedAt >= this.options.openMs ? "half-open" : "open";
  }

  /** A ticket if a call may go now (in half-open, one probe at a time), else null. */
  allow(now: number): BreakerTicket | null {
    const state = this.state(now);
    if (state === "closed") {
      return { startedAt: now, probe: false };
    }
    if (state === "half-open" && !this.probing) {
      this.probing = true;
      return { startedAt: now, probe: true };
    }
    return null;
  }

  /**
   * The result of a call that went: `ok` false for a retryable failure or no answer. Only the
   * probe decides a half-open breaker; a call that started before the last change of state (it
   * was in flight when the breaker opened) no longer counts.
   */
  record(ticket: BreakerTicket, ok: boolean, now: number): void {
    if (ticket.probe) {
      this.probing = false;
      if (ok) {
        this.close(now);
      } else {
        this.open(now);
      }
      return;
    }
    if (ticket.startedAt < this.changedAt || this.openedAt !== null) {
      return;
    }
    this.consecutive = ok ? 0 : this.consecutive + 1;
    this.calls.add(now, ok);
    this.calls.dropUntil(now - this.options.windowMs);
    const rateTripped =
      this.calls.size >= this.options.minRequests &&
      this.calls.failed / this.calls.size >= this.options.failureRate;
    if (this.consecutive >= this.options.consecutiveFailures || rateTripped) {
      this.open(now);
    }
  }

  private open(now: number): void {
    this.openedAt = now;
    this.changedAt = now;
  }

  private close(now: number): void {
    this.openedAt = null;
    this.changedAt = now;
    this.consecutive = 0;
    this.calls = new ResultWindow();
  }
}
