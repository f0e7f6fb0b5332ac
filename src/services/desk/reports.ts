/**
 * The desk's reports (GET /v1/desk/reports and its CSV): per agent or per day, from the
 * conversations' desk events (domain/desk-reports has the arithmetic) and the inspections, for
 * episodes resolved in [from, to). At most 92 days a report.
 */

import type { Caller } from "../../domain/caller";
import { csvCell, csvRow, UTF8_BOM } from "../../domain/csv";
import { type ReportRow, reportRows, type ScoredInspection } from "../../domain/desk-reports";
import {
  DEFAULT_RANGE_DAYS,
  endOfLocalToday,
  localDaysBefore,
  startOfLocalDay,
} from "../../domain/stats";
import { ApiError } from "../../lib/problem";
import { deskEpisodes } from "./episodes";
import { deskSettingsFor } from "./intake";

export const MAX_REPORT_DAYS = 92;

/** A range's bound: an instant, or a local date (`YYYY-MM-DD`: that day's start in the zone). */
export type ReportBound = number | string;

export interface ReportQuery {
  /** Default: seven local days up to `to`, in the report's zone. */
  from?: ReportBound;
  /** Default: the end of today in the report's zone. */
  to?: ReportBound;
  timeZone?: string;
  groupBy: "agent" | "day";
}

/** A report and what it covers: [from, to) and the zone its days are counted in. */
export interface DeskReport {
  from: number;
  to: number;
  timeZone: string;
  rows: ReportRow[];
}

export async function deskReport(
  env: Env,
  caller: Caller,
  query: ReportQuery,
  now: number = Date.now(),
): Promise<DeskReport> {
  const tenantId = caller.tenant.id;
  const timeZone = query.timeZone ?? (await deskSettingsFor(env, tenantId)).timeZone;
  const at = (bound: ReportBound) =>
    typeof bound === "number" ? bound : startOfLocalDay(bound, timeZone);
  const to = query.to !== undefined ? at(query.to) : endOfLocalToday(now, timeZone);
  const from =
    query.from !== undefined ? at(query.from) : localDaysBefore(to, DEFAULT_RANGE_DAYS, timeZone);
  if (to <= from) {
    throw new ApiError("validation-error", "to must be after from.", {
      errors: [{ pointer: "/query/to", detail: "after from" }],
    });
  }
  if (to - from > MAX_REPORT_DAYS * 86_400_000) {
    throw new ApiError("validation-error", `A report covers at most ${MAX_REPORT_DAYS} days.`, {
      errors: [{ pointer: "/query/to", detail: `at most ${MAX_REPORT_DAYS} days after from` }],
    });
  }
  const episodes = await deskEpisodes(env, tenantId, { from, to });
  const scored = await env.DB.prepare(
    `SELECT agent_id, score, max_score, created_at FROM inspections
     WHERE tenant_id = ? AND created_at >= ? AND created_at < ?`,
  )
    .bind(tenantId, from, to)
    .all<{ agent_id: string | null; score: number; max_score: number; created_at: number }>();
  const inspections: ScoredInspection[] = scored.results.map((r) => ({
    agentId: r.agent_id,
    percent: r.max_score === 0 ? 0 : (r.score / r.max_score) * 100,
    at: r.created_at,
  }));
  return {
    from,
    to,
    timeZone,
    rows: reportRows(episodes, inspections, query.groupBy, timeZone),
  };
}

const COLUMNS = [
  "key",
  "handled",
  "first_response_p50_seconds",
  "first_response_p90_seconds",
  "resolution_p50_seconds",
  "resolution_p90_seconds",
  "left_messages",
  "left_messages_on_time",
  "satisfaction_average",
  "satisfaction_count",
  "inspection_average",
  "inspection_count",
] as const;

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

/** The report as CSV (RFC 4180, CRLF rows; a text cell that could run as a formula is guarded). */
export function reportCsv(
  groupBy: "agent" | "day",
  rows: readonly ReportRow[],
  bom: boolean,
): string {
  const header = csvRow(COLUMNS.map((c) => csvCell(c === "key" ? groupBy : c)));
  const lines = rows.map((r) =>
    csvRow(
      [
        r.key,
        r.handled,
        seconds(r.firstResponseP50Ms),
        seconds(r.firstResponseP90Ms),
        seconds(r.resolutionP50Ms),
        seconds(r.resolutionP90Ms),
        r.leftMessages,
        r.leftMessagesOnTime,
        r.satisfactionAverage,
        r.satisfactionCount,
        r.inspectionAverage,
        r.inspectionCount,
      ].map((v) => csvCell(v)),
    ),
  );
  return (bom ? UTF8_BOM : "") + [header, ...lines].join("");
}

/** The e-mail addresses of the tenant's users among `ids`, to name a report's agents. */
export async function agentEmails(
  env: Env,
  caller: Caller,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)].slice(0, 90);
  if (wanted.length === 0) {
    return new Map();
  }
  const marks = wanted.map((_, i) => `?${i + 2}`).join(",");
  const { results } = await env.DB.prepare(
    `SELECT id, email FROM users WHERE tenant_id = ?1 AND id IN (${marks})`,
  )
    .bind(caller.tenant.id, ...wanted)
    .all<{ id: string; email: string }>();
  return new Map(results.map((r) => [r.id, r.email]));
}

/** The desk's time zone: the zone a report's days are counted in by default. */
export async function deskTimeZone(env: Env, caller: Caller): Promise<string> {
  return (await deskSettingsFor(env, caller.tenant.id)).timeZone;
}
