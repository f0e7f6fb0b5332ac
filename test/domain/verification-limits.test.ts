import { describe, expect, it } from "vitest";
import {
  conversionWaitMs,
  HOUR_MS,
  isE164,
  numberRangeOf,
  PLATFORM_NUMBER_SHARDS,
  platformShardOf,
  retryAfterSeconds,
  utcDayOf,
  verificationSettingsOf,
  windowWaitMs,
} from "../../src/domain/verification-limits";

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const GUARD = { enabled: true, threshold: 0.5, minVolume: 4 };

describe("verification limit arithmetic", () => {
  it("lets a window admit exactly when its cap-th newest event leaves it", () => {
    expect(windowWaitMs(undefined, 60_000, T0)).toBeNull();
    expect(windowWaitMs(T0, 60_000, T0 + 59_999)).toBe(1);
    expect(windowWaitMs(T0, 60_000, T0 + 60_000)).toBeNull();
  });

  it("rounds a wait up to whole seconds, at least one", () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1_000)).toBe(1);
    expect(retryAfterSeconds(1_001)).toBe(2);
    expect(retryAfterSeconds(0)).toBe(1);
  });

  it("trips the guard only with enough volume and a conversion below the threshold", () => {
    const sends = [T0, T0 + 1, T0 + 2];
    expect(conversionWaitMs(sends, [], GUARD, T0 + 10)).toBeNull();
    const four = [...sends, T0 + 3];
    expect(conversionWaitMs(four, [], GUARD, T0 + 10)).toBe(HOUR_MS - 10);
    expect(conversionWaitMs(four, [T0 + 4, T0 + 5], GUARD, T0 + 10)).toBeNull();
    expect(conversionWaitMs(four, [], { ...GUARD, enabled: false }, T0 + 10)).toBeNull();
  });

  it("waits until enough sends leave the hour for the volume or the rate to pass", () => {
    // 6 sent, 1 approved (rate 1/6): the rate passes at 1/2 (2 sends left) but the volume falls
    // below 4 first, once three sends have left.
    const sends = [T0, T0 + 1_000, T0 + 2_000, T0 + 3_000, T0 + 4_000, T0 + 5_000];
    const now = T0 + 10_000;
    expect(conversionWaitMs(sends, [T0 + 6_000], GUARD, now)).toBe(T0 + 2_000 + HOUR_MS - now);
  });

  it("ignores what left the hour already", () => {
    const old = [T0 - HOUR_MS, T0 - HOUR_MS + 1, T0 - HOUR_MS + 2, T0 - HOUR_MS + 3];
    expect(conversionWaitMs(old, [], GUARD, T0 + 3)).toBeNull();
  });

  it("names a number's range, shard and day", () => {
    expect(numberRangeOf("+8613800138000")).toBe("+861380013");
    expect(isE164("+8613800138000")).toBe(true);
    expect(isE164("oSandboxFollower000000000001")).toBe(false);
    const shard = platformShardOf("+8613800138000");
    expect(shard).toBe(platformShardOf("+8613800138000"));
    expect(shard).toBeGreaterThanOrEqual(0);
    expect(shard).toBeLessThan(PLATFORM_NUMBER_SHARDS);
    const shards = new Set(
      Array.from({ length: 200 }, (_, i) =>
        platformShardOf(`+86138001${String(i).padStart(5, "0")}`),
      ),
    );
    expect(shards.size).toBeGreaterThan(PLATFORM_NUMBER_SHARDS / 2);
    expect(utcDayOf(Date.UTC(2026, 11, 7, 23, 59, 59, 999))).toBe("2026-12-07");
    expect(utcDayOf(Date.UTC(2026, 11, 8))).toBe("2026-12-08");
  });

  it("fills the settings a tenant never changed with the defaults", () => {
    expect(verificationSettingsOf(null, null)).toEqual({
      limits: { perMinute: 1, perHour: 5, perDay: 10, prefixPerHour: 30, countryPerDay: 10_000 },
      fraudGuard: { enabled: true, threshold: 0.2, minVolume: 20 },
    });
  });
});
