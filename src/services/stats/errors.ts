/**
 * `GET /v1/stats/errors`: the most frequent reasons messages ended failed, undelivered or
 * expired, per provider and country, from the error rollup (migration 0023's trigger adds a
 * message once, as it reaches its final status), summed over the tenant's send-log partitions.
 */
import type { Caller } from "../../domain/caller";
import { sendLogsOf, sumByGroup } from "../messaging/send-log-reads";
import { rangeOf, type StatsParams } from "./stats-range";

/** SQLite's order of text (its bytes; the same as code units for what these columns hold). */
const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface ErrorRow {
  provider: string | null;
  country: string | null;
  status: "failed" | "undelivered" | "expired";
  reason: string | null;
  count: number;
}

export async function topErrors(
  env: Env,
  caller: Caller,
  params: Omit<StatsParams, "group_by"> & { limit?: number },
  now: number = Date.now(),
): Promise<ErrorRow[]> {
  const range = rangeOf({ ...params, group_by: "" }, now);
  const where = ["tenant_id = ?1", "bucket_start >= ?2", "bucket_start < ?3"];
  const binds: unknown[] = [caller.tenant.id, range.from, range.to];
  const add = (sql: string, value: unknown) => {
    binds.push(value);
    where.push(`${sql} ?${binds.length}`);
  };
  if (!caller.seesBothModes) {
    add("mode =", caller.mode);
  }
  if (params.channel !== undefined) {
    add("channel =", params.channel);
  }
  if (params.provider !== undefined) {
    add("provider =", params.provider);
  }
  if (params.country !== undefined) {
    add("country =", params.country.toUpperCase());
  }
  const limit = params.limit ?? 20;
  const logs = sendLogsOf(env, caller.tenant);
  // One partition cuts the list itself; over several, a reason can rank low on each and high in
  // the sum, so each gives all its groups and the cut is made on the sums.
  const cut = logs.length === 1;
  if (cut) {
    binds.push(limit);
  }
  const statement = `SELECT provider, country, status, reason, SUM(n) AS count FROM stat_errors
     WHERE ${where.join(" AND ")}
     GROUP BY provider, country, status, reason
     ORDER BY count DESC, provider, country, status, reason${cut ? ` LIMIT ?${binds.length}` : ""}`;
  const answers = await Promise.all(
    logs.map(
      async (d1) =>
        (
          await d1
            .prepare(statement)
            .bind(...binds)
            .all<{
              provider: string;
              country: string;
              status: ErrorRow["status"];
              reason: string;
              count: number;
            }>()
        ).results,
    ),
  );
  const results = sumByGroup(
    answers,
    (r) => JSON.stringify([r.provider, r.country, r.status, r.reason]),
    ["count"],
  )
    .sort(
      (a, b) =>
        b.count - a.count ||
        order(a.provider, b.provider) ||
        order(a.country, b.country) ||
        order(a.status, b.status) ||
        order(a.reason, b.reason),
    )
    .slice(0, limit);
  const orNull = (v: string) => (v === "" ? null : v);
  return results.map((r) => ({
    provider: orNull(r.provider),
    country: orNull(r.country),
    status: r.status,
    reason: orNull(r.reason),
    count: r.count,
  }));
}
