/**
 * Quiet hours: marketing is not sent between `start` and `end` in the recipient's local time
 * (e.g. 21:00–08:00). A message due inside the window waits for its end.
 *
 * The recipient's time zones come from the number's country, every zone the country has (the tz
 * database's list, through `countries-and-timezones`). Where a country has several, the window is
 * open only while it is open in all of them: a campaign to US numbers starts at 08:00 in Hawaii,
 * not at 08:00 in New York, which is 05:00 in California.
 */
import { getCountry } from "countries-and-timezones";

export interface QuietHours {
  /** "HH:MM", 24-hour clock, local to the recipient. */
  start: string;
  end: string;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function isClockTime(value: string): boolean {
  return HH_MM.test(value);
}

function minutesOf(clock: string): number {
  const match = HH_MM.exec(clock);
  return match ? Number(match[1]) * 60 + Number(match[2]) : 0;
}

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;
const DAY_MS = DAY_MINUTES * MINUTE_MS;

// Numbering plans the tz database does not list as countries: Ascension and Tristan da Cunha
// (St Helena's time) and Kosovo (Serbia's).
const ZONE_ALIASES: Readonly<Record<string, string>> = { AC: "SH", TA: "SH", XK: "RS" };
// China has one legal time, Beijing's, which its rules on marketing hours use; the tz database's
// Asia/Urumqi is Xinjiang's informal clock, and counting it would hold all of China until 10:00.
const ZONE_OVERRIDES: Readonly<Record<string, readonly string[]>> = { CN: ["Asia/Shanghai"] };
/** For a code that names no country: the window is applied in UTC rather than not at all. */
const FALLBACK_ZONES: readonly string[] = ["UTC"];

const zonesByCountry = new Map<string, readonly string[]>();
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(zone: string): Intl.DateTimeFormat | undefined {
  let format = formatters.get(zone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat("en-GB", {
        timeZone: zone,
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      });
    } catch {
      // A zone newer than the runtime's ICU data: the country's other zones still apply.
      return undefined;
    }
    formatters.set(zone, format);
  }
  return format;
}

/** The IANA time zones of an ISO 3166-1 country (UTC for a code that names no country). */
export function timeZonesOf(country: string): readonly string[] {
  let zones = zonesByCountry.get(country);
  if (!zones) {
    const listed =
      ZONE_OVERRIDES[country] ?? getCountry(ZONE_ALIASES[country] ?? country)?.timezones ?? [];
    const usable = listed.filter((zone) => formatterOf(zone) !== undefined);
    zones = usable.length > 0 ? usable : FALLBACK_ZONES;
    zonesByCountry.set(country, zones);
  }
  return zones;
}

/** Minutes since local midnight in `zone` at `at` (Unix ms). */
function localMinutes(at: number, zone: string): number {
  let hour = 0;
  let minute = 0;
  for (const part of formatterOf(zone)?.formatToParts(at) ?? []) {
    if (part.type === "hour") {
      hour = Number(part.value);
    } else if (part.type === "minute") {
      minute = Number(part.value);
    }
  }
  return hour * 60 + minute;
}

interface Window {
  start: number;
  end: number;
}

/** The end of the window in `zone` if `at` (a whole minute) is inside it, else `at`. */
function windowEndIn(at: number, window: Window, zone: string): number {
  const now = localMinutes(at, zone);
  const { start, end } = window;
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) {
    return at;
  }
  const endAt = at + ((end - now + DAY_MINUTES) % DAY_MINUTES) * MINUTE_MS;
  // A clock change during the wait puts the local clock off `end` by its size: 09:00 after the
  // spring change, 07:00 after the autumn one. Moved by that much, unless that would be no wait.
  const drift =
    ((end - localMinutes(endAt, zone) + DAY_MINUTES * 1.5) % DAY_MINUTES) - DAY_MINUTES / 2;
  const corrected = endAt + drift * MINUTE_MS;
  return corrected > at ? corrected : endAt;
}

/** The first whole minute from `at` when the window is open in every zone, if one comes within a day. */
function openInAll(at: number, window: Window, zones: readonly string[]): number | undefined {
  let time = at;
  // Each pass moves past the window of every zone still inside it; a pass that moves nothing has
  // found a minute open everywhere. Past a day there is none: the zones' open hours never overlap.
  // Every move lands on one of the zones' window ends, so two days hold at most two per zone.
  for (let pass = 0; pass <= zones.length * 2 + 1; pass++) {
    let moved = false;
    for (const zone of zones) {
      const end = windowEndIn(time, window, zone);
      if (end !== time) {
        time = end;
        moved = true;
      }
    }
    if (!moved) {
      return time;
    }
    if (time - at > DAY_MS) {
      return undefined;
    }
  }
  return undefined;
}

/**
 * When the window opens, from the whole minute `at`: when it is open in all the zones, or, where
 * their open hours never overlap (a narrow window across Russia's eleven zones), when it is open
 * in any of them, so that a message is never held for ever.
 */
function openingFrom(at: number, window: Window, zones: readonly string[]): number {
  return (
    openInAll(at, window, zones) ?? Math.min(...zones.map((zone) => windowEndIn(at, window, zone)))
  );
}

// A batch asks once per recipient, mostly for the same minute and a few countries: answers are
// kept per country, window and minute (the window only opens and closes on whole minutes).
const OPENINGS_KEPT = 4096;
const openings = new Map<string, number>();

/**
 * When a marketing message due at `due` may go to a recipient in `country`: `due` itself outside
 * the window, else the minute the window ends (in every one of the country's zones).
 */
export function releaseTimeAfterQuietHours(
  due: number,
  quiet: QuietHours | null,
  country: string,
): number {
  if (!quiet || quiet.start === quiet.end) {
    return due;
  }
  const minute = due - (due % MINUTE_MS);
  const key = `${country} ${quiet.start} ${quiet.end} ${minute}`;
  let opening = openings.get(key);
  if (opening === undefined) {
    const window = { start: minutesOf(quiet.start), end: minutesOf(quiet.end) };
    opening = openingFrom(minute, window, timeZonesOf(country));
    if (openings.size >= OPENINGS_KEPT) {
      openings.clear();
    }
    openings.set(key, opening);
  }
  return opening > minute ? opening : due;
}
