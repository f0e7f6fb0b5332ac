import { describe, expect, it } from "vitest";
import {
  MAX_DISPATCH_SHARDS,
  previousShardOf,
  shardOf,
  shardRates,
  stableHash,
} from "../../src/domain/dispatch-shards";

const phones = Array.from({ length: 4000 }, (_, i) => `+86138${String(i).padStart(8, "0")}`);

describe("shard routing", () => {
  it("puts a recipient on one shard, always the same, within range", () => {
    for (const n of [1, 2, 3, 4, 7, MAX_DISPATCH_SHARDS]) {
      for (const phone of phones.slice(0, 200)) {
        const shard = shardOf(phone, n);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(n);
        expect(shardOf(phone, n)).toBe(shard);
      }
    }
    // One shard: always 0, the tenant's original object.
    expect(new Set(phones.map((p) => shardOf(p, 1)))).toEqual(new Set([0]));
    // A fixed hash (FNV-1a), so every isolate and release agrees.
    expect(stableHash("")).toBe(0x811c9dc5);
    expect(stableHash("a")).toBe(0xe40c292c);
  });

  it("spreads many recipients evenly", () => {
    const counts = [0, 0, 0, 0];
    for (const phone of phones) {
      counts[shardOf(phone, 4)] = (counts[shardOf(phone, 4)] ?? 0) + 1;
    }
    for (const count of counts) {
      expect(count).toBeGreaterThan(phones.length / 4 - 200);
      expect(count).toBeLessThan(phones.length / 4 + 200);
    }
  });

  it("names a recipient's previous shard only while N changes and only if it moved", () => {
    const moved = phones.find((p) => shardOf(p, 4) !== shardOf(p, 1));
    const stayed = phones.find((p) => shardOf(p, 4) === 0);
    expect(moved && previousShardOf(moved, 4, 1)).toBe(0);
    expect(stayed && previousShardOf(stayed, 4, 1)).toBeNull();
    expect(previousShardOf(phones[0] ?? "", 4, null)).toBeNull();
    expect(previousShardOf(phones[0] ?? "", 4, 4)).toBeNull();
  });
});

describe("rate sharing", () => {
  it("splits the send rate into equal parts that add up to it exactly", () => {
    expect(shardRates(50, 1)).toEqual([50]);
    expect(shardRates(50, 4)).toEqual([13, 13, 12, 12]);
    expect(shardRates(3, 4)).toEqual([1, 1, 1, 0]);
    expect(shardRates(0, 4)).toEqual([0, 0, 0, 0]);
    for (const rate of [1, 7, 99, 1000, 4999, 10_000]) {
      for (let n = 1; n <= MAX_DISPATCH_SHARDS; n++) {
        const rates = shardRates(rate, n);
        expect(rates).toHaveLength(n);
        expect(rates.reduce((a, b) => a + b, 0)).toBe(rate);
        expect(Math.max(...rates) - Math.min(...rates)).toBeLessThanOrEqual(1);
      }
    }
  });
});
