import { describe, expect, it } from "vitest";
import { TtlCache } from "../../src/lib/ttl-cache";

/** A clock the test moves by hand. */
function manualClock(start = 1_000) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

describe("TtlCache", () => {
  it("serves a value until its TTL has passed, by the injected clock", () => {
    const clock = manualClock();
    const cache = new TtlCache<string, number>({ ttlMs: 100, clock: clock.read });
    cache.set("a", 1);
    clock.now += 99;
    expect(cache.get("a")).toBe(1);
    clock.now += 1;
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("never set")).toBeUndefined();
  });

  it("takes `now` from the call when given, and a new set starts a new TTL", () => {
    const cache = new TtlCache<string, string>({ ttlMs: 10, clock: () => 0 });
    cache.set("k", "first", 500);
    expect(cache.get("k")).toBe("first");
    expect(cache.get("k", 509)).toBe("first");
    expect(cache.get("k", 510)).toBeUndefined();
    cache.set("k", "second", 510);
    expect(cache.get("k", 519)).toBe("second");
  });

  it("empties itself before an addition that would go past its bound", () => {
    const cache = new TtlCache<string, number>({ ttlMs: 1_000, maxEntries: 3, clock: () => 0 });
    cache.setAll([
      ["a", 1],
      ["b", 2],
    ]);
    cache.set("c", 3);
    expect(cache.size).toBe(3);
    cache.set("d", 4);
    expect(cache.size).toBe(1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("d")).toBe(4);
    cache.setAll([
      ["e", 5],
      ["f", 6],
    ]);
    expect([...cache].map(([key]) => key)).toEqual(["d", "e", "f"]);
    cache.setAll([
      ["g", 7],
      ["h", 8],
    ]);
    expect([...cache].map(([key]) => key)).toEqual(["g", "h"]);
  });

  it("deletes a key, or only the value it still holds, expired or not", () => {
    const clock = manualClock();
    const cache = new TtlCache<string, { n: number }>({ ttlMs: 5, clock: clock.read });
    const first = { n: 1 };
    const second = { n: 2 };
    cache.set("k", first);
    cache.set("k", second);
    cache.delete("k", first);
    expect(cache.get("k")).toBe(second);
    clock.now += 10;
    cache.delete("k", second);
    expect(cache.size).toBe(0);
    cache.set("j", first);
    cache.delete("j");
    expect(cache.get("j")).toBeUndefined();
  });

  it("lists what it holds, expired entries included, so they can be dropped or updated", () => {
    const clock = manualClock();
    const cache = new TtlCache<string, { tenant: string }>({ ttlMs: 5, clock: clock.read });
    cache.set("a", { tenant: "t1" });
    clock.now += 10;
    cache.set("b", { tenant: "t2" });
    expect([...cache]).toEqual([
      ["a", { tenant: "t1" }],
      ["b", { tenant: "t2" }],
    ]);
    for (const [key, value] of cache) {
      if (value.tenant === "t1") {
        cache.delete(key);
      }
    }
    expect([...cache].map(([key]) => key)).toEqual(["b"]);
  });
});
