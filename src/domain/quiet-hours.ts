/**
 * Quiet hours: marketing is not sent between `start` and `end` in the recipient's local time
 * (e.g. 21:00–08:00). A message due inside the window waits for its end.
 *
 * The recipient's time zone comes from the number's country. Countries spanning several zones use
 * their most populous one (US: New York, CN: Shanghai), which is what a campaign tool's
 * "recipient time" means in practice; a tenant that needs more precision narrows the window.
 */

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

// IANA zones by ISO country: the countries our tenants send to most, else UTC offsets by region
// would be guesses. A country missing here gets no quiet hours rather than wrong ones.
const ZONES: Readonly<Record<string, string>> = {
  CN: "Asia/Shanghai",
  HK: "Asia/Hong_Kong",
  MO: "Asia/Macau",
  TW: "Asia/Taipei",
  SG: "Asia/Singapore",
  MY: "Asia/Kuala_Lumpur",
  JP: "Asia/Tokyo",
  KR: "Asia/Seoul",
  IN: "Asia/Kolkata",
  TH: "Asia/Bangkok",
  VN: "Asia/Ho_Chi_Minh",
  ID: "Asia/Jakarta",
  PH: "Asia/Manila",
  AE: "Asia/Dubai",
  AU: "Australia/Sydney",
  NZ: "Pacific/Auckland",
  GB: "Europe/London",
  IE: "Europe/Dublin",
  DE: "Europe/Berlin",
  FR: "Europe/Paris",
  ES: "Europe/Madrid",
  IT: "Europe/Rome",
  NL: "Europe/Amsterdam",
  BE: "Europe/Brussels",
  CH: "Europe/Zurich",
  SE: "Europe/Stockholm",
  PL: "Europe/Warsaw",
  RU: "Europe/Moscow",
  US: "America/New_York",
  CA: "America/Toronto",
  MX: "America/Mexico_City",
  BR: "America/Sao_Paulo",
  AR: "America/Argentina/Buenos_Aires",
  ZA: "Africa/Johannesburg",
  NG: "Africa/Lagos",
  EG: "Africa/Cairo",
};

export function timeZoneOf(country: string): string | undefined {
  return ZONES[country];
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight in `zone` at `at` (Unix ms). */
function localMinutes(at: number, zone: string): number {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(zone, format);
  }
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(at)) {
    if (part.type === "hour") {
      hour = Number(part.value);
    } else if (part.type === "minute") {
      minute = Number(part.value);
    }
  }
  return hour * 60 + minute;
}

/**
 * When a marketing message due at `due` may go to a recipient in `country`: `due` itself outside
 * the window, else the window's end (to the minute, in the recipient's zone).
 */
export function releaseTimeAfterQuietHours(
  due: number,
  quiet: QuietHours | null,
  country: string,
): number {
  const zone = timeZoneOf(country);
  if (!quiet || !zone || quiet.start === quiet.end) {
    return due;
  }
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const now = localMinutes(due, zone);
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) {
    return due;
  }
  const wait = (end - now + 24 * 60) % (24 * 60);
  // Round to the minute boundary: `due` may be mid-minute. A zone's clock change during the wait
  // shifts the end by its size at most; we accept that rather than hold a message for a day.
  const startOfMinute = due - (due % 60_000);
  return startOfMinute + wait * 60_000;
}
