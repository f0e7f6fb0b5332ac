import { describe, expect, it } from "vitest";
import {
  SIGN_IN_WINDOW_MS,
  signInAddress,
  signInWait,
  waitAfterFailures,
} from "../../src/domain/sign-in-throttle";

describe("sign-in waits", () => {
  it("lets the first two failures go free, then doubles from 1 s up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 20].map(waitAfterFailures)).toEqual([
      0, 0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("waits from the latest failure, and past ten until the oldest of them leaves the window", () => {
    const now = 1_000_000_000;
    expect(signInWait({ account: [], address: [] }, now)).toBe(0);
    expect(signInWait({ account: [now - 5000, now - 4000, now - 500], address: [] }, now)).toBe(
      500,
    );
    const ten = Array.from({ length: 10 }, (_, i) => now - 600_000 + i * 40_000);
    expect(signInWait({ account: ten, address: [] }, now)).toBe(SIGN_IN_WINDOW_MS - 600_000);
  });

  it("refuses an address with fifty failures until the oldest leaves the window", () => {
    const now = 1_000_000_000;
    const fifty = Array.from({ length: 50 }, (_, i) => now - 100_000 + i);
    expect(signInWait({ account: [], address: fifty }, now)).toBe(SIGN_IN_WINDOW_MS - 100_000);
    expect(signInWait({ account: [], address: fifty.slice(1) }, now)).toBe(0);
  });
});

describe("sign-in addresses", () => {
  it("counts IPv4 addresses whole and IPv6 ones by their /64", () => {
    expect(signInAddress("192.0.2.7")).toBe("192.0.2.7");
    expect(signInAddress("2001:DB8:0:1:aaaa::1")).toBe("2001:db8:0:1::/64");
    expect(signInAddress("2001:db8:0000:0001:ffff:ffff:ffff:ffff")).toBe("2001:db8:0:1::/64");
    expect(signInAddress("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(signInAddress("::1")).toBe("0:0:0:0::/64");
    expect(signInAddress("::ffff:192.0.2.7")).toBe("::ffff:192.0.2.7");
  });

  it("counts every attempt without an address (local runs) as one address", () => {
    expect(signInAddress(undefined)).toBe("local");
    expect(signInAddress(" ")).toBe("local");
  });
});
