/**
 * The service desk's report figures, computed exactly from a conversation's desk events (its
 * state moves, oldest first) and satisfaction answers. An episode starts when the conversation
 * is handed to people (a move from `bot`, `resolved` or nothing to `queued`, `left_message` or
 * `assigned`) and ends at its resolution; it counts for the agent it last belonged to, on the day
 * (in the report's zone) of its resolution. First response: handoff to the first move to
 * `pending` (an agent's reply); resolution time: handoff to resolution. A left message (留言) is
 * on time when it was resolved by its `due_at`. A satisfaction answer counts for the episode
 * resolved just before it. Percentiles are nearest-rank (the smallest value with at least p% of
 * the values at or below it), so every figure is one of the measured values.
 */

export interface DeskEvent {
  conversationId: string;
  type: string;
  fromState: string | null;
  toState: string | null;
  agentId: string | null;
  detail: Record<string, unknown>;
  at: number;
}

export interface HandledEpisode {
  conversationId: string;
  agentId: string | null;
  handedOffAt: number;
  resolvedAt: number;
  firstResponseMs: number | null;
  resolutionMs: number;
  leftMessage: boolean;
  /** For a left message: resolved by its due time. */
  onTime: boolean | null;
  satisfaction: number | null;
}

const HANDOFF_FROM = new Set([null, "bot", "resolved"]);
const HANDOFF_TO = new Set(["queued", "left_message", "assigned"]);

/** The episodes of one conversation's events (oldest first), each ended by a resolution. */
export function episodesOf(events: readonly DeskEvent[]): HandledEpisode[] {
  const episodes: HandledEpisode[] = [];
  let open: {
    handedOffAt: number;
    agentId: string | null;
    firstResponseAt: number | null;
    dueAt: number | null;
  } | null = null;
  for (const e of events) {
    if (e.type === "satisfaction") {
      const last = episodes.at(-1);
      const score = typeof e.detail.score === "number" ? e.detail.score : null;
      if (last && open === null && score !== null) {
        last.satisfaction = score;
      }
      continue;
    }
    if (e.type !== "state" || e.toState === null) {
      continue;
    }
    if (open === null && HANDOFF_FROM.has(e.fromState) && HANDOFF_TO.has(e.toState)) {
      open = { handedOffAt: e.at, agentId: null, firstResponseAt: null, dueAt: null };
    }
    if (open === null) {
      continue;
    }
    if (e.agentId !== null) {
      open.agentId = e.agentId;
    }
    if (e.toState === "left_message" && typeof e.detail.due_at === "number") {
      open.dueAt = e.detail.due_at;
    }
    if (e.toState === "pending" && open.firstResponseAt === null) {
      open.firstResponseAt = e.at;
    }
    if (e.toState === "resolved") {
      episodes.push({
        conversationId: e.conversationId,
        agentId: open.agentId,
        handedOffAt: open.handedOffAt,
        resolvedAt: e.at,
        firstResponseMs:
          open.firstResponseAt === null ? null : open.firstResponseAt - open.handedOffAt,
        resolutionMs: e.at - open.handedOffAt,
        leftMessage: open.dueAt !== null,
        onTime: open.dueAt === null ? null : e.at <= open.dueAt,
        satisfaction: null,
      });
      open = null;
    }
  }
  return episodes;
}

/** Nearest-rank percentile of `values` (null for none). */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) {
    return null;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

export interface ReportRow {
  /** The agent's id (or null: nobody's) or the day `YYYY-MM-DD` in the report's zone. */
  key: string | null;
  handled: number;
  firstResponseP50Ms: number | null;
  firstResponseP90Ms: number | null;
  resolutionP50Ms: number | null;
  resolutionP90Ms: number | null;
  leftMessages: number;
  leftMessagesOnTime: number;
  satisfactionAverage: number | null;
  satisfactionCount: number;
  inspectionAverage: number | null;
  inspectionCount: number;
}

/** `YYYY-MM-DD` of `at` in `zone`. */
export function dayIn(at: number, zone: string): string {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(at);
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Inspection scores as a percentage of the checklist's points, by agent and time. */
export interface ScoredInspection {
  agentId: string | null;
  percent: number;
  at: number;
}

/** The report rows, grouped by agent or by day, sorted by their key. */
export function reportRows(
  episodes: readonly HandledEpisode[],
  inspections: readonly ScoredInspection[],
  groupBy: "agent" | "day",
  zone: string,
): ReportRow[] {
  const keyOf = (agentId: string | null, at: number) =>
    groupBy === "agent" ? agentId : dayIn(at, zone);
  const groups = new Map<string | null, { episodes: HandledEpisode[]; scores: number[] }>();
  const group = (key: string | null) => {
    let g = groups.get(key);
    if (!g) {
      g = { episodes: [], scores: [] };
      groups.set(key, g);
    }
    return g;
  };
  for (const e of episodes) {
    group(keyOf(e.agentId, e.resolvedAt)).episodes.push(e);
  }
  for (const i of inspections) {
    group(keyOf(i.agentId, i.at)).scores.push(i.percent);
  }
  const rows: ReportRow[] = [];
  for (const [key, g] of groups) {
    const first = g.episodes.flatMap((e) =>
      e.firstResponseMs === null ? [] : [e.firstResponseMs],
    );
    const resolution = g.episodes.map((e) => e.resolutionMs);
    const scores = g.episodes.flatMap((e) => (e.satisfaction === null ? [] : [e.satisfaction]));
    const left = g.episodes.filter((e) => e.leftMessage);
    rows.push({
      key,
      handled: g.episodes.length,
      firstResponseP50Ms: percentile(first, 50),
      firstResponseP90Ms: percentile(first, 90),
      resolutionP50Ms: percentile(resolution, 50),
      resolutionP90Ms: percentile(resolution, 90),
      leftMessages: left.length,
      leftMessagesOnTime: left.filter((e) => e.onTime === true).length,
      satisfactionAverage:
        scores.length === 0 ? null : round2(scores.reduce((a, b) => a + b, 0) / scores.length),
      satisfactionCount: scores.length,
      inspectionAverage:
        g.scores.length === 0
          ? null
          : round2(g.scores.reduce((a, b) => a + b, 0) / g.scores.length),
      inspectionCount: g.scores.length,
    });
  }
  return rows.sort((a, b) => (a.key ?? "").localeCompare(b.key ?? ""));
}
