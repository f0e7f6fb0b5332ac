import { describe, expect, it } from "vitest";
import { RETRY_WINDOW_MS, webhookRetryDelay } from "../../src/domain/webhook-retries";

const START = Date.UTC(2026, 10, 20);

describe("webhook retry schedule", () => {
  it("doubles from 30 s, with half of each step random", () => {
    const top = (n: number) => webhookRetryDelay(n, START, START, () => 1);
    const bottom = (n: number) => webhookRetryDelay(n, START, START, () => 0);
    expect([1, 2, 3, 4, 5].map(top)).toEqual([30, 60, 120, 240, 480]);
    expect([1, 2, 3, 4, 5].map(bottom)).toEqual([15, 30, 60, 120, 240]);
  });

  it("never waits more than 12 h at once", () => {
    expect(webhookRetryDelay(40, START, START, () => 1)).toBe(12 * 3600);
    expect(webhookRetryDelay(40, START, START, () => 0)).toBe(6 * 3600);
  });

  it("makes the last attempt at the 24 h mark and then stops", () => {
    const nearlyOver = START + RETRY_WINDOW_MS - 90_000;
    expect(webhookRetryDelay(12, START, nearlyOver, () => 1)).toBe(90);
    expect(webhookRetryDelay(12, START, START + RETRY_WINDOW_MS, () => 1)).toBeNull();
    expect(webhookRetryDelay(1, START, START + RETRY_WINDOW_MS + 1, () => 0)).toBeNull();
  });

  it("keeps retrying for the whole 24 h even when every jitter is the shortest", () => {
    let now = START;
    let attempts = 1;
    for (;;) {
      const delay = webhookRetryDelay(attempts, START, now, () => 0);
      if (delay === null) {
        break;
      }
      now += delay * 1000;
      attempts++;
    }
    expect(now).toBe(START + RETRY_WINDOW_MS);
    // Well under the queue's max_retries (30) in wrangler.toml.
    expect(attempts).toBeLessThanOrEqual(17);
  });
});
