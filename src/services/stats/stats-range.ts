/**
 * Reading `/v1/stats` parameters: the time range in the caller's time zone and the periods
 * (local days or hours) it splits into, each a whole number of the rollups' 15-minute buckets.
 */
import {
  BUCKET_MS,
  DEFAULT_RANGE_DAYS,
  dateAfter,
  endOfLocalToday,
  isTimeZone,
  localClockOf,
  localDaysBefore,
  localTimeOf,
  startOfLocalDay,
} from "../../domain/stats";
import { ApiError } from "../../lib/problem";

export const GROUPS = [
  "day",
  "hour",
  "channel",
  "provider",
  "template",
  "country",
  "status",
] as const;
export type Group = (typeof GROUPS)[number];

export interface StatsParams {
  from?: string;
  to?: string;
  tz?: string;
  group_by?: string;
  channel?: string;
  provider?: string;
  country?: string;
}

/** One period of the answer: `[start, end)` in UTC ms, and its label (a local day or hour). */
export type Period = [start: number, end: number, label: string | null];

export interface StatsRange {
  from: number;
  to: number;
  timeZone: string;
  groups: Group[];
  periods: Period[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 400;
const MAX_HOUR_DAYS = 31;
const DAY_MS = 86_400_000;

function invalid(pointer: string, detail: string): ApiError {
  return new ApiError("validation-error", detail, { errors: [{ pointer, detail }] });
}

const nextDate = (date: string) => dateAfter(date, 1);

/** A bound: a local date (`to` counts the whole day) or an instant on a 15-minute boundary. */
function boundOf(value: string, which: "from" | "to", timeZone: string): number {
  if (DATE.test(value)) {
    const ms = Date.parse(`${value}T00:00:00Z`);
    // V8 rolls 2026-02-30 over into March rather than refusing it.
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
      throw invalid(`/query/${which}`, "not a calendar date");
    }
    return startOfLocalDay(which === "to" ? nextDate(value) : value, timeZone);
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw invalid(
      `/query/${which}`,
      "a date (YYYY-MM-DD, in tz) or an RFC 3339 date-time with offset",
    );
  }
  if (ms % BUCKET_MS !== 0) {
    throw invalid(
      `/query/${which}`,
      "a date-time must fall on a 15-minute boundary (e.g. 10:15:00Z)",
    );
  }
  return ms;
}

export function groupsOf(value: string | undefined): Group[] {
  if (value === undefined || value === "") {
    return ["day"];
  }
  const groups: Group[] = [];
  for (const name of value.split(",").map((v) => v.trim())) {
    if (!(GROUPS as readonly string[]).includes(name)) {
      throw invalid("/query/group_by", `unknown grouping "${name}": one of ${GROUPS.join(", ")}`);
    }
    if (groups.includes(name as Group)) {
      throw invalid("/query/group_by", `"${name}" is named twice`);
    }
    groups.push(name as Group);
  }
  if (groups.includes("day") && groups.includes("hour")) {
    throw invalid("/query/group_by", "group by day or by hour, not both");
  }
  return groups;
}

/** The range and its periods; without dates, the last seven local days, today included. */
export function rangeOf(params: StatsParams, now: number): StatsRange {
  const timeZone = params.tz ?? "UTC";
  if (!isTimeZone(timeZone)) {
    throw invalid("/query/tz", "an IANA time zone such as Asia/Shanghai");
  }
  const groups = groupsOf(params.group_by);
  const to =
    params.to !== undefined ? boundOf(params.to, "to", timeZone) : endOfLocalToday(now, timeZone);
  const from =
    params.from !== undefined
      ? boundOf(params.from, "from", timeZone)
      : localDaysBefore(to, DEFAULT_RANGE_DAYS, timeZone);
  if (!(from < to)) {
    throw invalid("/query/from", "from must come before to");
  }
  const maxDays = groups.includes("hour") ? MAX_HOUR_DAYS : MAX_DAYS;
  if (to - from > maxDays * DAY_MS) {
    throw invalid(
      "/query/to",
      `at most ${maxDays} days${groups.includes("hour") ? " by hour" : ""}`,
    );
  }
  return { from, to, timeZone, groups, periods: periodsOf(from, to, timeZone, groups) };
}

function periodsOf(from: number, to: number, timeZone: string, groups: Group[]): Period[] {
  if (groups.includes("day")) {
    const periods: Period[] = [];
    for (let start = from; start < to; ) {
      const day = localTimeOf(start, timeZone).day;
      const end = Math.min(to, startOfLocalDay(nextDate(day), timeZone));
      periods.push([start, end, day]);
      start = end;
    }
    return periods;
  }
  if (groups.includes("hour")) {
    // Walks the buckets: a local hour is 4 of them, or fewer/more around a DST change.
    const periods: Period[] = [];
    const clock = localClockOf(timeZone, from, to);
    let start = from;
    let label = clock(from).hour;
    for (let at = from + BUCKET_MS; at <= to; at += BUCKET_MS) {
      const next = at < to ? clock(at).hour : null;
      if (next !== label) {
        periods.push([start, at, label]);
        start = at;
        label = next ?? label;
      }
    }
    return periods;
  }
  return [[from, to, null]];
}
