import { describe, expect, it } from "vitest";
import { seededId } from "../../src/lib/ids";

const seedOf = (first: number) => Uint8Array.from({ length: 32 }, (_, n) => first + n);

describe("seededId", () => {
  it("gives the same id for the same seed and time, and another for another seed", () => {
    const at = Date.UTC(2025, 0, 2, 3, 4, 5);
    expect(seededId("bat", at, seedOf(0))).toBe(seededId("bat", at, seedOf(0)));
    expect(seededId("bat", at, seedOf(0))).not.toBe(seededId("bat", at, seedOf(1)));
    expect(seededId("bat", at, seedOf(0))).toMatch(/^bat_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("numbers a series with its last six characters, in order", () => {
    const at = Date.now();
    const ids = [0, 1, 31, 32, 32 ** 6 - 1].map((n) => seededId("msg", at, seedOf(7), n));
    expect(ids.every((id) => /^msg_[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    expect(ids.map((id) => id.slice(-6))).toEqual([
      "000000",
      "000001",
      "00000Z",
      "000010",
      "ZZZZZZ",
    ]);
    expect(new Set(ids.map((id) => id.slice(0, -6))).size).toBe(1);
    expect(() => seededId("msg", at, seedOf(7), 32 ** 6)).toThrow(RangeError);
  });
});
