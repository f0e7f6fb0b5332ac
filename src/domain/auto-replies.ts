/**
 * Auto-reply rules, the one matcher for WeChat and SMS keywords: which rule answers an inbound
 * message. A text is matched against the keyword rules by priority (lower first), then by kind
 * (exact before prefix before contains), case-insensitively, with full-width forms folded (NFKC:
 * `ＨＥＬＰ` is `help`) and surrounding spaces (a full-width space too) ignored; a follow gets the
 * subscribe welcome; any other message gets the default reply when there is one; other events get
 * nothing. A rule with an active window answers only inside it, in the tenant's zone.
 */
import type { AutoReplyMatch } from "./vocabulary";

/** When a rule answers: on these ISO weekdays (1 Monday … 7 Sunday), from `start` to `end`. */
export interface ActiveWindow {
  days: number[];
  /** "HH:MM", local; an `end` before `start` runs past midnight into the next day. */
  start: string;
  end: string;
}

export interface AutoReplyRule<R = unknown> {
  id: string;
  match: AutoReplyMatch;
  keyword: string | null;
  reply: R;
  priority: number;
  /** Null or absent: always. */
  activeWindow?: ActiveWindow | null;
}

export type Inbound =
  | { kind: "text"; text: string }
  | { kind: "subscribe" }
  | { kind: "message" }
  | { kind: "event" };

/** When the message arrived and the zone of the tenant, for rules with an active window. */
export interface Clock {
  at: number;
  zone: string;
}

const KIND_ORDER: Record<AutoReplyMatch, number> = {
  exact: 0,
  prefix: 1,
  contains: 2,
  subscribe: 3,
  default: 4,
};

/** The form texts and keywords are compared in. */
export function normalKeywordText(text: string): string {
  return text.normalize("NFKC").trim().toLowerCase();
}

/** Whether `text` (normalised) matches a keyword rule; `all` matches every text. */
export function keywordMatches(
  match: AutoReplyMatch | "all",
  keyword: string | null,
  text: string,
): boolean {
  if (match === "all") {
    return true;
  }
  const wanted = normalKeywordText(keyword ?? "");
  if (wanted === "") {
    return false;
  }
  switch (match) {
    case "exact":
      return text === wanted;
    case "prefix":
      return text.startsWith(wanted);
    case "contains":
      return text.includes(wanted);
    default:
      return false;
  }
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutesOf(clock: string): number {
  const match = HH_MM.exec(clock);
  return match ? Number(match[1]) * 60 + Number(match[2]) : 0;
}

const WEEKDAYS: Readonly<Record<string, number>> = {
  Mon: 1,
  Tue: 2,
  Wed: 3,
  Thu: 4,
  Fri: 5,
  Sat: 6,
  Sun: 7,
};
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The ISO weekday and the minutes since midnight at `at` in `zone`. */
function localTime(at: number, zone: string): { day: number; minutes: number } {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(zone, format);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(at)) {
    if (part.type === "weekday") {
      day = WEEKDAYS[part.value] ?? 0;
    } else if (part.type === "hour") {
      hour = Number(part.value);
    } else if (part.type === "minute") {
      minute = Number(part.value);
    }
  }
  return { day, minutes: hour * 60 + minute };
}

/**
 * Whether `at` falls in the window. An overnight window (22:00–06:00) belongs to the day it starts
 * on: Friday's runs into Saturday morning. Equal start and end: the listed days, all day.
 */
export function isWithinWindow(window: ActiveWindow, clock: Clock): boolean {
  const { day, minutes } = localTime(clock.at, clock.zone);
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const on = (d: number) => window.days.includes(d);
  if (start === end) {
    return on(day);
  }
  if (start < end) {
    return on(day) && minutes >= start && minutes < end;
  }
  const yesterday = day === 1 ? 7 : day - 1;
  return (on(day) && minutes >= start) || (on(yesterday) && minutes < end);
}

function active(rule: AutoReplyRule, clock: Clock | undefined): boolean {
  if (!rule.activeWindow) {
    return true;
  }
  // Without the time and zone a windowed rule cannot be placed: it stays silent.
  return clock !== undefined && isWithinWindow(rule.activeWindow, clock);
}

export function chooseReply<R>(
  rules: readonly AutoReplyRule<R>[],
  inbound: Inbound,
  clock?: Clock,
): AutoReplyRule<R> | null {
  const ordered = [...rules]
    .filter((rule) => active(rule, clock))
    .sort((a, b) => a.priority - b.priority || KIND_ORDER[a.match] - KIND_ORDER[b.match]);
  if (inbound.kind === "subscribe") {
    return ordered.find((rule) => rule.match === "subscribe") ?? null;
  }
  if (inbound.kind === "event") {
    return null;
  }
  if (inbound.kind === "text") {
    const text = normalKeywordText(inbound.text);
    const hit = ordered.find(
      (rule) =>
        rule.match !== "subscribe" &&
        rule.match !== "default" &&
        keywordMatches(rule.match, rule.keyword, text),
    );
    if (hit) {
      return hit;
    }
  }
  return ordered.find((rule) => rule.match === "default") ?? null;
}
