/**
 * `GET /v1/stats/export?format=csv`: the rows `GET /v1/stats` answers, as RFC 4180 CSV. A text
 * cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
 * carriage return) is prefixed with `'` (OWASP's advice on CSV injection); numbers stay numbers.
 */
import type { StatsRow } from "./stats";

const METRICS = [
  "messages",
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "expired",
  "canceled",
  "delivery_rate",
  "segments",
  "cost",
  "currency",
  "inbound",
  "opt_outs",
  "verification_sends",
  "verification_checks",
  "verification_approvals",
  "p50_delivery_ms",
  "p95_delivery_ms",
] as const;

/** One CSV cell: quoted when it must be, defused when a spreadsheet would run it. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) {
    return "";
  }
  if (typeof value === "number") {
    return String(value);
  }
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) {
    text = `'${text}`;
  }
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV of `rows`, with the group columns first (those `group_by` named, in its order). */
export function statsCsv(
  groups: readonly string[],
  rows: readonly StatsRow[],
  bom: boolean,
): string {
  const columns = [...groups, ...METRICS];
  const lines = [columns.join(",")];
  for (const row of rows) {
    const record = row as unknown as Record<string, unknown>;
    lines.push(columns.map((c) => csvCell(record[c])).join(","));
  }
  return `${bom ? "\uFEFF" : ""}${lines.join("\r\n")}\r\n`;
}
