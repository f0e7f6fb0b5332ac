/**
 * The statistics' vocabulary: the rollups' time grain, the latency histograms' fixed buckets and
 * how a percentile is read from them, and the arithmetic of a day or hour in a time zone.
 *
 * Rollups are kept per 15-minute UTC bucket: every time zone in use today is offset from UTC by a
 * multiple of 15 minutes (+5:30 India, +5:45 Nepal, −9:30 Marquesas), so any zone's day or hour
 * is a whole number of buckets, and summing buckets gives it exactly.
 */

export const BUCKET_MS = 15 * 60 * 1000;

/**
 * Upper bounds (exclusive, ms) of the latency histograms' buckets; one more bucket holds anything
 * longer: stat_latencies' columns b0 … b16. Migration 0042's triggers write the same bounds as
 * a CASE: change both together (the stats tests compare them).
 */
export const LATENCY_BOUNDS_MS = [
  250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000,
  1_800_000, 3_600_000, 21_600_000, 86_400_000,
] as const;

/** Which bucket a latency falls in: the index of the first bound above it. */
export function latencyBucketOf(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms < bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

/**
 * The q-th quantile (0 < q ≤ 1) of a histogram (`counts[i]` latencies in bucket i), read as the
 * upper bound of the bucket where the cumulative count reaches q of the total: an estimate never
 * below the true value, with the bucket's resolution. The overflow bucket answers its lower
 * bound (the last bound). Null for an empty histogram.
 */
export function quantileOf(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) {
    return null;
  }
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) {
      return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)] ?? null;
    }
  }
  return null;
}

/** `delivered ÷ (delivered + undelivered + failed + expired)`, 4 decimals; null when nothing ended. */
export function deliveryRate(c: {
  delivered: number;
  undelivered: number;
  failed: number;
  expired: number;
}): number | null {
  const ended = c.delivered + c.undelivered + c.failed + c.expired;
  return ended === 0 ? null : Math.round((c.delivered / ended) * 10_000) / 10_000;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The local wall-clock time of `ms` in `timeZone`: `day` `YYYY-MM-DD`, and `hour`
 * `YYYY-MM-DDTHH:00+hh:mm` (with its offset, so the hour a DST change repeats reads twice apart).
 */
export function localTimeOf(ms: number, timeZone: string): { day: string; hour: string } {
  return localTimeAt(ms, offsetAt(ms, timeZone));
}

/** The local time of `ms` at `offsetMs` from UTC, by arithmetic. */
function localTimeAt(ms: number, offsetMs: number): { day: string; hour: string } {
  const wall = new Date(ms + offsetMs).toISOString();
  return { day: wall.slice(0, 10), hour: `${wall.slice(0, 13)}:00${offsetLabel(offsetMs)}` };
}

/**
 * `localTimeOf` for many instants of `[from, to)` (on 15-minute boundaries): the zone's offset is
 * asked once a UTC day, and on a day it changes, found to the 15-minute bucket by halving (zones
 * change on such boundaries, never twice in a day); every other instant is arithmetic. Walking a
 * month by quarter hours takes ~60 look-ups instead of ~6,000.
 */
export function localClockOf(
  timeZone: string,
  from: number,
  to: number,
): (ms: number) => { day: string; hour: string } {
  let offset = offsetAt(from, timeZone);
  const changes: [at: number, offset: number][] = [[from, offset]];
  for (let day = from; day < to; day += DAY_MS) {
    const next = Math.min(to, day + DAY_MS);
    const nextOffset = offsetAt(next, timeZone);
    if (nextOffset !== offset) {
      let lo = day;
      let hi = next;
      while (hi - lo > BUCKET_MS) {
        const mid = lo + Math.floor((hi - lo) / 2 / BUCKET_MS) * BUCKET_MS;
        if (offsetAt(mid, timeZone) === offset) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      changes.push([hi, nextOffset]);
      offset = nextOffset;
    }
  }
  return (ms) => {
    let i = changes.length - 1;
    while (i > 0 && (changes[i]?.[0] ?? 0) > ms) {
      i--;
    }
    return localTimeAt(ms, changes[i]?.[1] ?? 0);
  };
}

function offsetLabel(offsetMs: number): string {
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${offsetMs < 0 ? "-" : "+"}${hh}:${mm}`;
}

/** The zone's offset from UTC at `ms`, in ms (east positive). */
function offsetAt(ms: number, timeZone: string): number {
  const parts: Record<string, string> = {};
  for (const p of formatterOf(timeZone).formatToParts(new Date(ms))) {
    parts[p.type] = p.value;
  }
  const wall = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
  );
  return wall - (ms - (ms % 60_000));
}

/**
 * The UTC instant at which the local date `YYYY-MM-DD` begins in `timeZone` (local midnight; on a
 * day whose midnight a DST change skips, the first instant of that day).
 */
export function startOfLocalDay(date: string, timeZone: string): number {
  const wallMidnight = Date.parse(`${date}T00:00:00Z`);
  // Two passes settle the offset on either side of a change.
  let guess = wallMidnight - offsetAt(wallMidnight, timeZone);
  guess = wallMidnight - offsetAt(guess, timeZone);
  if (localTimeOf(guess, timeZone).day !== date) {
    // Midnight did not exist: the day starts at the first bucket whose local date is it.
    while (localTimeOf(guess, timeZone).day < date) {
      guess += BUCKET_MS;
    }
  }
  return guess;
}

/** How many local days a range covers when it is not given (`/v1/stats`, the desk's reports). */
export const DEFAULT_RANGE_DAYS = 7;

/** The calendar date `days` after `date` (`YYYY-MM-DD`; negative: before). */
export function dateAfter(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A range's default end: the end of today in `timeZone` (the start of tomorrow), so today is
 * included.
 */
export function endOfLocalToday(now: number, timeZone: string): number {
  return startOfLocalDay(dateAfter(localTimeOf(now, timeZone).day, 1), timeZone);
}

/**
 * A range's default start: `days` whole local days up to `to`, the day `to` ends in included
 * (with `days` 7 and `to` the end of today: the last seven days, today included).
 */
export function localDaysBefore(to: number, days: number, timeZone: string): number {
  return startOfLocalDay(dateAfter(localTimeOf(to - 1, timeZone).day, 1 - days), timeZone);
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A stretch of a range at one rollup grain: 0 15 minutes, 1 a UTC hour, 2 a UTC day. */
export type GrainSpan = [grain: 0 | 1 | 2, start: number, end: number];

/**
 * `[start, end)` (on 15-minute boundaries) as the fewest rollup rows cover it: whole UTC days
 * inside it, whole hours around those, 15-minute buckets at the edges.
 */
export function grainSpansOf(start: number, end: number): GrainSpan[] {
  const up = (ms: number, unit: number) => Math.min(end, Math.ceil(ms / unit) * unit);
  const down = (ms: number, unit: number) => Math.max(start, Math.floor(ms / unit) * unit);
  const hourIn = up(start, HOUR_MS);
  const hourOut = Math.max(hourIn, down(end, HOUR_MS));
  const dayIn = Math.min(hourOut, up(start, DAY_MS));
  const dayOut = Math.max(dayIn, Math.min(hourOut, down(end, DAY_MS)));
  const spans: GrainSpan[] = [
    [0, start, hourIn],
    [1, hourIn, dayIn],
    [2, dayIn, dayOut],
    [1, dayOut, hourOut],
    [0, hourOut, end],
  ];
  return spans.filter(([, s, e]) => s < e);
}

/** A span with a sign: its rows are added to a period (1) or taken away from it (−1). */
export type SignedSpan = [grain: 0 | 1 | 2, start: number, end: number, sign: 1 | -1];

/** A grain's bucket, in ms: 15 minutes, an hour, a day. */
export const GRAIN_MS = [BUCKET_MS, HOUR_MS, DAY_MS] as const;

/** How many rollup rows (per key) the spans read. */
export function rowsOf(spans: readonly (GrainSpan | SignedSpan)[]): number {
  return spans.reduce((n, [grain, start, end]) => n + (end - start) / GRAIN_MS[grain], 0);
}

/**
 * `[start, end)` as the fewest rollup rows read with signs: the UTC days from the UTC midnight
 * nearest its start to the one nearest its end, plus what the range holds before and after
 * them, less what they hold outside it, when that reads fewer rows than grainSpansOf's cover
 * (else that cover, all added). A Shanghai day (16:00Z to 16:00Z) is then its UTC day, plus
 * the day before's last 8 hours, less its own last 8: 17 rows, not 24, and a run of days reads
 * each 8 hours once for two days (9 rows a day); a New York day, 1 + 5 + 5 (or 4 across a DST
 * change). Exact whatever the zone: it is arithmetic on UTC intervals, each row counted once net.
 */
export function signedSpansOf(start: number, end: number): SignedSpan[] {
  const plain = grainSpansOf(start, end).map(([g, s, e]): SignedSpan => [g, s, e, 1]);
  const dayIn = Math.round(start / DAY_MS) * DAY_MS;
  const dayOut = Math.round(end / DAY_MS) * DAY_MS;
  if (!(dayIn < dayOut)) {
    return plain;
  }
  /** `[from, to)` added, or `[to, from)` taken away when it runs backwards. */
  const edge = (from: number, to: number): SignedSpan[] =>
    from < to
      ? grainSpansOf(from, to).map(([g, s, e]): SignedSpan => [g, s, e, 1])
      : grainSpansOf(to, from).map(([g, s, e]): SignedSpan => [g, s, e, -1]);
  const signed: SignedSpan[] = [[2, dayIn, dayOut, 1], ...edge(start, dayIn), ...edge(dayOut, end)];
  return rowsOf(signed) < rowsOf(plain) ? signed : plain;
}

/**
 * The spans' stretches per grain: overlapping or adjacent spans of one grain joined (a span
 * added to one period and taken from the next is read once), ordered by grain and start.
 * Each is one range of the rollups' primary key (tenant, grain, bucket), read in its order.
 */
export function grainRangesOf(spans: readonly [...GrainSpan, ...unknown[]][]): GrainSpan[] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const ranges: GrainSpan[] = [];
  for (const [grain, start, end] of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last[0] === grain && last[2] >= start) {
      last[2] = Math.max(last[2], end);
    } else {
      ranges.push([grain, start, end]);
    }
  }
  return ranges;
}
