import { getCountries } from "libphonenumber-js/max";
import { describe, expect, it } from "vitest";
import { releaseTimeAfterQuietHours } from "../../src/domain/quiet-hours";

const quiet = { start: "21:00", end: "08:00" };
const HOUR_MS = 3_600_000;

describe("quiet hours across a country's time zones", () => {
  it("applies to every country a phone number can belong to", () => {
    // Quiet all day but one minute; at :07 past the hour UTC no zone's clock reads 23:59.
    const almostAlways = { start: "00:00", end: "23:59" };
    const due = Date.parse("2026-11-22T12:07:00Z");
    const open = getCountries().filter(
      (country) => releaseTimeAfterQuietHours(due, almostAlways, country) === due,
    );
    expect(open).toEqual([]);
  });

  it("holds numbers of countries the old zone table left out", () => {
    // 22:30 in Harare (UTC+2) and in Nairobi (UTC+3), 21:30 in Pristina (UTC+1).
    const due = Date.parse("2026-11-22T20:30:00Z");
    expect(releaseTimeAfterQuietHours(due, quiet, "ZW")).toBe(
      Date.parse("2026-11-23T08:00:00+02:00"),
    );
    expect(releaseTimeAfterQuietHours(due - HOUR_MS, quiet, "KE")).toBe(
      Date.parse("2026-11-23T08:00:00+03:00"),
    );
    expect(releaseTimeAfterQuietHours(due, quiet, "XK")).toBe(
      Date.parse("2026-11-23T08:00:00+01:00"),
    );
  });

  it("does not release US numbers at 05:00 in California when it is 08:00 in New York", () => {
    // 08:30 in New York, 05:30 in Los Angeles, 03:30 in Honolulu: the window is open in every US
    // zone at 08:00 in Hawaii (and on the Aleutians), 18:00 UTC.
    const due = Date.parse("2026-11-23T13:30:00Z");
    expect(new Date(releaseTimeAfterQuietHours(due, quiet, "US")).toISOString()).toBe(
      "2026-11-23T18:00:00.000Z",
    );
  });

  it("is quiet in a country as soon as it is quiet in any of its zones", () => {
    // 21:30 in New York, 18:30 in Los Angeles: already quiet on the East Coast.
    const due = Date.parse("2026-11-23T02:30:00Z");
    expect(new Date(releaseTimeAfterQuietHours(due, quiet, "US")).toISOString()).toBe(
      "2026-11-23T18:00:00.000Z",
    );
    // 16:00 in Honolulu but 21:00 in New York.
    expect(releaseTimeAfterQuietHours(Date.parse("2026-11-24T02:00:00Z"), quiet, "US")).toBe(
      Date.parse("2026-11-24T18:00:00Z"),
    );
    // 20:59 in New York: open everywhere.
    const open = Date.parse("2026-11-24T01:59:30Z");
    expect(releaseTimeAfterQuietHours(open, quiet, "US")).toBe(open);
  });

  it("keeps all of China on Beijing time, its one legal time", () => {
    // Not Asia/Urumqi (UTC+6), which would make 08:00 in Beijing 10:00.
    const due = Date.parse("2026-11-22T03:00:00+08:00");
    expect(releaseTimeAfterQuietHours(due, quiet, "CN")).toBe(
      Date.parse("2026-11-22T08:00:00+08:00"),
    );
  });

  it("never holds a message for more than a day, even where the zones are never open together", () => {
    // Open one hour a day: Russia's zones (UTC+2 to UTC+12) are never all open at once.
    const narrow = { start: "11:00", end: "10:00" };
    const due = Date.parse("2026-11-22T12:00:00Z");
    for (const country of getCountries()) {
      const release = releaseTimeAfterQuietHours(due, narrow, country);
      expect(release - due, country).toBeLessThanOrEqual(24 * HOUR_MS);
    }
    // Then it goes when the first of them opens: 10:00 in Kamchatka (UTC+12) is 22:00 UTC.
    expect(new Date(releaseTimeAfterQuietHours(due, narrow, "RU")).toISOString()).toBe(
      "2026-11-22T22:00:00.000Z",
    );
  });

  it("ends the window at 08:00 local across a change of the clocks", () => {
    // London springs forward at 01:00 UTC on 28 March 2027: 08:00 BST is 07:00 UTC.
    expect(
      new Date(
        releaseTimeAfterQuietHours(Date.parse("2027-03-27T22:00:00Z"), quiet, "GB"),
      ).toISOString(),
    ).toBe("2027-03-28T07:00:00.000Z");
    // And falls back at 01:00 UTC on 25 October 2026: 08:00 GMT is 08:00 UTC.
    expect(
      new Date(
        releaseTimeAfterQuietHours(Date.parse("2026-10-24T21:30:00Z"), quiet, "GB"),
      ).toISOString(),
    ).toBe("2026-10-25T08:00:00.000Z");
  });

  it("applies the window in UTC to a code that names no country", () => {
    const due = Date.parse("2026-11-22T22:30:00Z");
    expect(releaseTimeAfterQuietHours(due, quiet, "ZZ")).toBe(Date.parse("2026-11-23T08:00:00Z"));
  });

  it("answers a 100,000-recipient batch to a many-zoned country quickly", () => {
    const due = Date.parse("2026-11-23T13:30:00Z");
    const started = performance.now();
    for (let n = 0; n < 100_000; n++) {
      releaseTimeAfterQuietHours(due + (n % 1000), quiet, n % 2 ? "US" : "RU");
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
