/**
 * The service desk's rules: its settings (a tenant setting, off by default), the working hours in
 * the tenant's zone, the states a conversation goes through and which moves are allowed, what an
 * inbound message asks of the desk (the precedence after opt-out keywords: handoff keywords, then
 * the robot's auto-replies, then a satisfaction digit after a resolution) and how an agent is
 * chosen. Pure: the desk's Durable Object and the services call these.
 */
import { isClockTime } from "./quiet-hours";

export const DESK_STATES = [
  "bot",
  "queued",
  "assigned",
  "pending",
  "resolved",
  "left_message",
] as const;
export type DeskState = (typeof DESK_STATES)[number];

export const AGENT_STATUSES = ["online", "away", "offline"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One stretch of a day's working hours, "HH:MM" to "HH:MM" (end "24:00" for midnight). */
export interface WorkingSpan {
  start: string;
  end: string;
}

export interface DeskSettings {
  enabled: boolean;
  /** IANA zone the working hours are read in. */
  timeZone: string;
  workingHours: Readonly<Record<Weekday, readonly WorkingSpan[]>>;
  handoffKeywords: readonly string[];
  /** WeChat menu click keys (EventKey) that ask for a person. */
  handoffMenuKeys: readonly string[];
  afterHoursAnswer: string;
  noAgentAnswer: string;
  maxQueueSeconds: number;
  /** Hours a left message (留言) has before it is due. */
  leftMessageDueHours: number;
  /** Satisfaction survey after a resolution (its sending is issue 21's; digits are recorded). */
  satisfactionSurvey: boolean;
  /** The question sent after a resolution when the survey is on; null: the default in the tenant's language. */
  satisfactionQuestion: string | null;
  /** Of each agent's conversations resolved on a day, the share sampled for inspection (0–100). */
  inspectionSamplePercent: number;
}

const NINE_TO_SIX: readonly WorkingSpan[] = [{ start: "09:00", end: "18:00" }];

export const DEFAULT_DESK_SETTINGS: DeskSettings = {
  enabled: false,
  timeZone: "Asia/Shanghai",
  workingHours: {
    mon: NINE_TO_SIX,
    tue: NINE_TO_SIX,
    wed: NINE_TO_SIX,
    thu: NINE_TO_SIX,
    fri: NINE_TO_SIX,
    sat: [],
    sun: [],
  },
  handoffKeywords: ["人工", "客服", "agent", "human"],
  handoffMenuKeys: [],
  afterHoursAnswer: "We are closed now; we have your message and will answer in working hours.",
  noAgentAnswer: "No one is free right now; we have your message and will answer soon.",
  maxQueueSeconds: 300,
  leftMessageDueHours: 24,
  satisfactionSurvey: false,
  satisfactionQuestion: null,
  inspectionSamplePercent: 10,
};

/** The stored settings over the defaults (null in D1 until first changed). */
export function deskSettingsOf(stored: Partial<DeskSettings> | null | undefined): DeskSettings {
  return { ...DEFAULT_DESK_SETTINGS, ...(stored ?? {}) };
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-GB", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** "HH:MM" or "24:00", as a span's end may be. */
export function isSpanEnd(value: string): boolean {
  return value === "24:00" || isClockTime(value);
}

function minutesOf(clock: string): number {
  const [h, m] = clock.split(":");
  return Number(h) * 60 + Number(m);
}

/** Why a day's spans are wrong, or null: each starts before it ends. */
export function spanProblem(span: WorkingSpan): string | null {
  return minutesOf(span.start) < minutesOf(span.end) ? null : "start must be before end";
}

const weekdayFormatters = new Map<string, Intl.DateTimeFormat>();

/** The weekday and minute of the day at `at` in `zone`. */
export function localMoment(at: number, zone: string): { weekday: Weekday; minute: number } {
  let format = weekdayFormatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    weekdayFormatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
  const weekday = (parts.weekday ?? "Mon").slice(0, 3).toLowerCase() as Weekday;
  return { weekday, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether `at` falls in the working hours (start inclusive, end exclusive) in the tenant's zone. */
export function isWorkingTime(settings: DeskSettings, at: number): boolean {
  const { weekday, minute } = localMoment(at, settings.timeZone);
  return settings.workingHours[weekday].some(
    (span) => minute >= minutesOf(span.start) && minute < minutesOf(span.end),
  );
}

/** The moves a conversation may make; the desk's object refuses any other. */
const TRANSITIONS: Readonly<Record<DeskState, readonly DeskState[]>> = {
  bot: ["queued", "assigned", "left_message", "resolved"],
  queued: ["assigned", "left_message", "resolved", "queued"],
  assigned: ["assigned", "pending", "queued", "resolved"],
  pending: ["assigned", "queued", "resolved"],
  resolved: ["bot", "queued", "assigned", "left_message"],
  left_message: ["queued", "assigned", "resolved", "left_message"],
};

export function canMove(from: DeskState, to: DeskState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** States in which a person owns or will own the conversation: the robot stays quiet. */
export function isWithPeople(state: DeskState): boolean {
  return state === "queued" || state === "assigned" || state === "pending";
}

function normalised(text: string): string {
  return text.trim().toLowerCase();
}

/** Whether a text asks for a person: it is one of the handoff keywords (case and spaces aside). */
export function asksForPerson(settings: DeskSettings, text: string): boolean {
  const said = normalised(text);
  return said !== "" && settings.handoffKeywords.some((k) => normalised(k) === said);
}

/** A satisfaction answer: one digit from 1 to 5, alone. */
export function satisfactionDigit(text: string): number | null {
  const match = /^\s*([1-5])\s*$/.exec(text);
  return match ? Number(match[1]) : null;
}

/** What an inbound message is to the desk, before the robot's auto-replies run. */
export type EarlyDecision =
  | { kind: "none" }
  /** The conversation is with people already: the message goes to them, the robot stays quiet. */
  | { kind: "to_people" }
  | { kind: "handoff" };

/** What an inbound message asks of the desk, checked before the auto-replies. */
export function decideBeforeRobot(
  settings: DeskSettings,
  state: DeskState,
  input: { text: string | null; menuKey: string | null },
): EarlyDecision {
  if (!settings.enabled) {
    return { kind: "none" };
  }
  if (isWithPeople(state)) {
    return { kind: "to_people" };
  }
  if (input.menuKey !== null && settings.handoffMenuKeys.includes(input.menuKey)) {
    return { kind: "handoff" };
  }
  if (input.text !== null && asksForPerson(settings, input.text)) {
    return { kind: "handoff" };
  }
  return { kind: "none" };
}

export type LateDecision =
  | { kind: "none" }
  | { kind: "satisfaction"; score: number }
  | { kind: "handoff" };

/** After the auto-replies: a satisfaction digit after a resolution, else the robot's silence. */
export function decideAfterRobot(
  settings: DeskSettings,
  state: DeskState,
  input: { text: string | null; robotAnswered: boolean },
): LateDecision {
  if (!settings.enabled || input.robotAnswered || isWithPeople(state)) {
    return { kind: "none" };
  }
  const score = input.text === null ? null : satisfactionDigit(input.text);
  if (state === "resolved" && settings.satisfactionSurvey && score !== null) {
    return { kind: "satisfaction", score };
  }
  return { kind: "handoff" };
}

/** Where a handoff goes: the queue, or a left message (with the automatic answer it gets). */
export type HandoffPlace =
  | { state: "queued" }
  | { state: "left_message"; reason: "after_hours" | "no_agent"; answer: string };

export function placeOfHandoff(
  settings: DeskSettings,
  at: number,
  agentsOnline: number,
): HandoffPlace {
  if (!isWorkingTime(settings, at)) {
    return { state: "left_message", reason: "after_hours", answer: settings.afterHoursAnswer };
  }
  if (agentsOnline === 0) {
    return { state: "left_message", reason: "no_agent", answer: settings.noAgentAnswer };
  }
  return { state: "queued" };
}

export interface AgentLoad {
  userId: string;
  skills: readonly string[];
  capacity: number;
  status: AgentStatus;
  load: number;
  /** When the agent last had nothing to do, or last took a conversation (ms). */
  idleSince: number;
}

/**
 * The agent a conversation needing `skill` (null: anyone) goes to: online, with the skill, with a
 * free slot; the most free slots first, then the one idle longest, then the id (a fixed order).
 */
export function chooseAgent(agents: readonly AgentLoad[], skill: string | null): AgentLoad | null {
  let best: AgentLoad | null = null;
  for (const agent of agents) {
    if (agent.status !== "online" || agent.load >= agent.capacity) {
      continue;
    }
    if (skill !== null && !agent.skills.includes(skill)) {
      continue;
    }
    if (!best) {
      best = agent;
      continue;
    }
    const free = agent.capacity - agent.load;
    const bestFree = best.capacity - best.load;
    if (
      free > bestFree ||
      (free === bestFree && agent.idleSince < best.idleSince) ||
      (free === bestFree && agent.idleSince === best.idleSince && agent.userId < best.userId)
    ) {
      best = agent;
    }
  }
  return best;
}
