import { describe, expect, it } from "vitest";
import { isClockTime, releaseTimeAfterQuietHours } from "../../src/domain/quiet-hours";

const quiet = { start: "21:00", end: "08:00" };

describe("quiet hours", () => {
  it("holds a message due at 22:30 in Hong Kong until 08:00 the next morning there", () => {
    const due = Date.parse("2026-11-22T22:30:15+08:00");
    expect(new Date(releaseTimeAfterQuietHours(due, quiet, "HK")).toISOString()).toBe(
      "2026-11-23T00:00:00.000Z",
    );
  });

  it("holds a message due at 03:00 local until 08:00 the same morning", () => {
    const due = Date.parse("2026-11-22T03:00:00+08:00");
    expect(releaseTimeAfterQuietHours(due, quiet, "HK")).toBe(
      Date.parse("2026-11-22T08:00:00+08:00"),
    );
  });

  it("lets a message due outside the window go at once", () => {
    const due = Date.parse("2026-11-22T12:00:00+08:00");
    expect(releaseTimeAfterQuietHours(due, quiet, "HK")).toBe(due);
    expect(releaseTimeAfterQuietHours(Date.parse("2026-11-22T20:59:59+08:00"), quiet, "HK")).toBe(
      Date.parse("2026-11-22T20:59:59+08:00"),
    );
  });

  it("uses the recipient's time zone, not the server's", () => {
    // 14:00 UTC is 22:00 in Hong Kong (quiet) and 14:00 in London (not quiet).
    const due = Date.parse("2026-11-22T14:00:00Z");
    expect(releaseTimeAfterQuietHours(due, quiet, "GB")).toBe(due);
    expect(releaseTimeAfterQuietHours(due, quiet, "HK")).toBe(
      Date.parse("2026-11-23T08:00:00+08:00"),
    );
  });

  it("handles a window within one day", () => {
    const lunch = { start: "12:00", end: "13:30" };
    expect(releaseTimeAfterQuietHours(Date.parse("2026-11-22T12:10:00Z"), lunch, "GB")).toBe(
      Date.parse("2026-11-22T13:30:00Z"),
    );
  });

  it("does nothing without quiet hours or for an empty window", () => {
    const due = Date.parse("2026-11-22T22:30:00+08:00");
    expect(releaseTimeAfterQuietHours(due, null, "HK")).toBe(due);
    expect(releaseTimeAfterQuietHours(due, { start: "09:00", end: "09:00" }, "HK")).toBe(due);
  });

  it("accepts only 24-hour HH:MM times", () => {
    expect(["00:00", "23:59", "08:30"].every(isClockTime)).toBe(true);
    expect(["24:00", "8:30", "08:60", "0830", ""].some(isClockTime)).toBe(false);
  });
});
