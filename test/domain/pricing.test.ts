import { describe, expect, it } from "vitest";
import {
  costMicros,
  fromMicros,
  isPrice,
  pricePerSegmentMicros,
  toMicros,
} from "../../src/domain/pricing";

describe("pricing", () => {
  it("reads decimal prices into exact millionths", () => {
    expect(toMicros("0.0065")).toBe(6_500);
    expect(toMicros("1")).toBe(1_000_000);
    expect(toMicros("12.345678")).toBe(12_345_678);
    expect(fromMicros(13_000)).toBe(0.013);
  });

  it("accepts at most six decimals and no signs, exponents or leading zeros", () => {
    for (const good of ["0", "0.1", "0.000001", "123456.5"]) {
      expect(isPrice(good), good).toBe(true);
    }
    for (const bad of ["-1", "1e3", "0.0000001", "01.5", ".5", "1.", "", "abc", "1234567"]) {
      expect(isPrice(bad), bad).toBe(false);
    }
  });

  it("prices a message as segments times the tenant's own price for the country", () => {
    const table = { currency: "CNY", prices: { CN: "0.0450" } };
    expect(costMicros(table, "CN", 3)).toBe(135_000);
  });

  it("falls back to list prices for a USD tenant, and to zero in another currency", () => {
    expect(pricePerSegmentMicros({ currency: "USD", prices: {} }, "US")).toBe(7_900);
    expect(pricePerSegmentMicros({ currency: "USD", prices: {} }, "ZW")).toBe(50_000);
    expect(pricePerSegmentMicros({ currency: "CNY", prices: {} }, "US")).toBe(0);
  });
});
