import { describe, expect, it } from "vitest";
import {
  flushChanges,
  LIVE_WINDOW_MS,
  type LiveChanges,
  NO_CHANGES,
  noteChanges,
  shouldNotify,
} from "../../src/domain/live-updates";

/** Plays notes at the given times, firing the alarm whenever one is due; returns the broadcasts. */
function play(noteTimes: readonly number[], end: number): { at: number; count: number }[] {
  let state: LiveChanges = NO_CHANGES;
  const broadcasts: { at: number; count: number }[] = [];
  const fire = (until: number) => {
    while (state.flushAt !== null && state.flushAt <= until) {
      const at = state.flushAt;
      const { state: next, broadcast } = flushChanges(state, at);
      state = next;
      if (broadcast !== null) {
        broadcasts.push({ at, count: broadcast });
      }
    }
  };
  for (const t of noteTimes) {
    fire(t);
    state = noteChanges(state, 1, t);
  }
  fire(end);
  return broadcasts;
}

describe("coalescing the live message feed", () => {
  it("tells the desk at most once a window per isolate", () => {
    expect(shouldNotify(undefined, 0)).toBe(true);
    expect(shouldNotify(1_000, 1_999)).toBe(false);
    expect(shouldNotify(1_000, 1_000 + LIVE_WINDOW_MS)).toBe(true);
  });

  it("turns one note into one broadcast, at the end of its window", () => {
    expect(play([5_000], 60_000)).toEqual([{ at: 5_000 + LIVE_WINDOW_MS, count: 1 }]);
  });

  it("broadcasts a burst of 5,000 notes over 10 s at most once a second", () => {
    const times = Array.from({ length: 5_000 }, (_, i) => Math.floor(i * 2)); // 0 … 9,998 ms
    const broadcasts = play(times, 60_000);
    expect(broadcasts.length).toBeLessThanOrEqual(11);
    expect(broadcasts.length).toBeGreaterThanOrEqual(9);
    const gaps = broadcasts.slice(1).map((b, i) => b.at - (broadcasts[i]?.at ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(LIVE_WINDOW_MS);
    expect(broadcasts.reduce((sum, b) => sum + b.count, 0)).toBe(5_000);
  });

  it("broadcasts at or after the end of every note's window (what a sender held back is shown)", () => {
    const times = [0, 300, 900, 1_400, 2_950, 7_000, 7_001];
    const broadcasts = play(times, 60_000);
    for (const t of times) {
      expect(broadcasts.some((b) => b.at >= t + LIVE_WINDOW_MS)).toBe(true);
      // …and the first broadcast after the note covers its whole window.
      const next = broadcasts.find((b) => b.at >= t);
      expect(next).toBeDefined();
    }
    const last = broadcasts.at(-1);
    expect(last?.at).toBeGreaterThanOrEqual(7_001 + LIVE_WINDOW_MS);
  });

  it("fires nothing early: an alarm before the flush time keeps the state", () => {
    const state = noteChanges(NO_CHANGES, 3, 1_000);
    expect(flushChanges(state, 1_500)).toEqual({ state, broadcast: null });
    const { state: after, broadcast } = flushChanges(state, 2_000);
    expect(broadcast).toBe(3);
    expect(after.flushAt).toBeNull();
    // A second run of the same alarm (at-least-once) sends nothing more.
    expect(flushChanges(after, 2_000).broadcast).toBeNull();
  });
});
