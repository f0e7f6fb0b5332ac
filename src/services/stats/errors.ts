/**
 * `GET /v1/stats/errors`: the most frequent reasons messages ended failed, undelivered or
 * expired, per provider and country, from the error rollup (migration 0023's trigger adds a
 * message once, as it reaches its final status).
 */
import type { Caller } from "../../domain/caller";
import { rangeOf, type StatsParams } from "./stats-range";

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
  binds.push(params.limit ?? 20);
  const { results } = await env.DB.prepare(
    `SELECT provider, country, status, reason, SUM(n) AS count FROM stat_errors
     WHERE ${where.join(" AND ")}
     GROUP BY provider, country, status, reason
     ORDER BY count DESC, provider, country, status, reason LIMIT ?${binds.length}`,
  )
    .bind(...binds)
    .all<{
      provider: string;
      country: string;
      status: ErrorRow["status"];
      reason: string;
      count: number;
    }>();
  const orNull = (v: string) => (v === "" ? null : v);
  return results.map((r) => ({
    provider: orNull(r.provider),
    country: orNull(r.country),
    status: r.status,
    reason: orNull(r.reason),
    count: r.count,
  }));
}
