import { describe, expect, it } from "vitest";
import { refill, take } from "../../src/domain/token-bucket";

const limits = { rate: 10, burst: 20 };

describe("token bucket", () => {
  it("starts full and allows a burst, then refuses", () => {
    let state = refill(undefined, limits, 0);
    expect(state.tokens).toBe(20);
    for (let i = 0; i < 20; i++) {
      const result = take(state, limits, 0);
      expect(result.ok).toBe(true);
      state = result.state;
    }
    const refused = take(state, limits, 0);
    expect(refused).toEqual({ ok: false, state: { tokens: 0, at: 0 }, retryAfterMs: 100 });
  });

  it("refills at the rate, never above the burst", () => {
    expect(refill({ tokens: 0, at: 0 }, limits, 250).tokens).toBe(2.5);
    expect(refill({ tokens: 0, at: 0 }, limits, 60_000).tokens).toBe(20);
  });

  it("says how long until enough tokens for the request", () => {
    const result = take({ tokens: 0.5, at: 1000 }, limits, 1000, 3);
    expect(result.ok).toBe(false);
    expect(result.ok ? 0 : result.retryAfterMs).toBe(250);
  });

  it("never refills a paused bucket", () => {
    const paused = { rate: 0, burst: 1 };
    const result = take({ tokens: 0, at: 0 }, paused, 10_000);
    expect(result).toMatchObject({ ok: false, retryAfterMs: Infinity });
  });

  it("ignores a clock that goes backwards", () => {
    expect(refill({ tokens: 5, at: 1000 }, limits, 500).tokens).toBe(5);
  });
});
