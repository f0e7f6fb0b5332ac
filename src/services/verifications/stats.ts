/**
 * A tenant's verification numbers per UTC day: started (new verifications), sent (messages that
 * carried a code, re-sends included), approved, the conversion (approved ÷ started) and the
 * limiters' refusals per rule (limits.ts keeps those).
 */
import type { Caller, Mode } from "../../domain/caller";
import { ApiError } from "../../lib/problem";
import { type LimitName, refusalsByDay } from "./limits";

const DAY_MS = 86_400_000;
const MAX_DAYS = 92;

export interface DayStats {
  date: string;
  started: number;
  sent: number;
  approved: number;
  conversion_rate: number | null;
  refusals: Partial<Record<LimitName, number>>;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `sql` binds ?1 the tenant, ?2 and ?3 the range, ?4 the modes reached (a JSON array). */
async function countsByDay(
  env: Env,
  sql: string,
  tenantId: string,
  modes: readonly Mode[],
  from: number,
  to: number,
): Promise<Map<string, number>> {
  const { results } = await env.DB.prepare(sql)
    .bind(tenantId, from, to, JSON.stringify(modes))
    .all<{ day: number; n: number }>();
  return new Map(results.map((r) => [dayOf(r.day * DAY_MS), r.n]));
}

/** Days from `from` to `to` (dates, `YYYY-MM-DD`), both included, oldest first. */
export async function verificationStats(
  env: Env,
  caller: Caller,
  range: { from?: string; to?: string },
  now: number = Date.now(),
): Promise<DayStats[]> {
  // Without dates: the last seven days, today included.
  const to = (range.to ? Date.parse(`${range.to}T00:00:00Z`) : now - (now % DAY_MS)) + DAY_MS;
  const from = range.from ? Date.parse(`${range.from}T00:00:00Z`) : to - 7 * DAY_MS;
  for (const [name, at] of [
    ["from", from],
    ["to", to],
  ] as const) {
    if (Number.isNaN(at)) {
      throw new ApiError("validation-error", `${name} is not a date.`, {
        errors: [{ pointer: `/query/${name}`, detail: "a date, YYYY-MM-DD (UTC)" }],
      });
    }
  }
  if (!(from < to) || (to - from) / DAY_MS > MAX_DAYS) {
    throw new ApiError("validation-error", `from must not be after to, at most ${MAX_DAYS} days.`, {
      errors: [{ pointer: "/query/to", detail: `from ≤ to, at most ${MAX_DAYS} days apart` }],
    });
  }
  const tenantId = caller.tenant.id;
  // A key reaches its own mode's verifications (each mode has its own limiter); a dashboard user
  // both.
  const modes: Mode[] = caller.seesBothModes ? ["live", "test"] : [caller.mode];
  const [started, sent, approved, refusals] = await Promise.all([
    countsByDay(
      env,
      "SELECT created_at / 86400000 AS day, COUNT(*) AS n FROM verifications WHERE tenant_id = ?1 AND created_at >= ?2 AND created_at < ?3 AND mode IN (SELECT value FROM json_each(?4)) GROUP BY day",
      tenantId,
      modes,
      from,
      to,
    ),
    countsByDay(
      env,
      "SELECT vm.created_at / 86400000 AS day, COUNT(*) AS n FROM verification_messages AS vm JOIN verifications AS v ON v.id = vm.verification_id WHERE vm.tenant_id = ?1 AND vm.created_at >= ?2 AND vm.created_at < ?3 AND v.mode IN (SELECT value FROM json_each(?4)) GROUP BY day",
      tenantId,
      modes,
      from,
      to,
    ),
    countsByDay(
      env,
      "SELECT approved_at / 86400000 AS day, COUNT(*) AS n FROM verifications WHERE tenant_id = ?1 AND status = 'approved' AND approved_at >= ?2 AND approved_at < ?3 AND mode IN (SELECT value FROM json_each(?4)) GROUP BY day",
      tenantId,
      modes,
      from,
      to,
    ),
    refusalsByDay(env, tenantId, modes, from, to),
  ]);
  const days: DayStats[] = [];
  for (let at = from; at < to; at += DAY_MS) {
    const date = dayOf(at);
    const s = started.get(date) ?? 0;
    const a = approved.get(date) ?? 0;
    days.push({
      date,
      started: s,
      sent: sent.get(date) ?? 0,
      approved: a,
      conversion_rate: s === 0 ? null : Math.round((a / s) * 10_000) / 10_000,
      refusals: refusals[date] ?? {},
    });
  }
  return days;
}
