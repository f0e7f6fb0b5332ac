/**
 * The VerificationLimiter's storage: one row per admitted send per scope (recipient, number range,
 * country), approvals per range and country for the fraud guard, refusals per UTC day and limit.
 * Windows slide over the rows (domain/verification-limits), so counts are exact at any instant.
 */
import {
  conversionWaitMs,
  DAY_MS,
  type FraudGuard,
  HOUR_MS,
  type LimitName,
  MINUTE_MS,
  type VerificationLimits,
  windowWaitMs,
} from "../../domain/verification-limits";
import { allRows, firstRow } from "../../lib/sql-rows";

export type SendScope = "recipient" | "prefix" | "country";

export function migrateCounters(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS settings (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      limits TEXT NOT NULL,
      fraud_guard TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS sends (
      reservation TEXT NOT NULL,
      scope TEXT NOT NULL,
      key TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sends_window ON sends (scope, key, at);
    CREATE INDEX IF NOT EXISTS sends_reservation ON sends (reservation);
    CREATE INDEX IF NOT EXISTS sends_age ON sends (at);
    CREATE TABLE IF NOT EXISTS approvals (scope TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS approvals_window ON approvals (scope, key, at);
    CREATE TABLE IF NOT EXISTS refusals (
      day TEXT NOT NULL,
      limit_name TEXT NOT NULL,
      count INTEGER NOT NULL,
      PRIMARY KEY (day, limit_name)
    );
  `);
}

/** The time of the cap-th most recent send of a scope's key within the window, if there is one. */
function capthNewest(
  sql: SqlStorage,
  scope: SendScope,
  key: string,
  cap: number,
  windowMs: number,
  now: number,
): number | undefined {
  const row = firstRow(
    sql,
    "SELECT at FROM sends WHERE scope = ? AND key = ? AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?",
    scope,
    key,
    now - windowMs,
    cap - 1,
  );
  return row ? Number(row.at) : undefined;
}

export interface WindowRule {
  limit: LimitName;
  scope: SendScope;
  key: string;
  cap: number;
  windowMs: number;
}

/** The windows a send to this recipient must fit, in the order they are checked. */
export function windowRules(
  limits: VerificationLimits,
  recipient: string,
  phone: { range: string; country: string | null } | null,
): WindowRule[] {
  const rules: WindowRule[] = [
    {
      limit: "number_minute",
      scope: "recipient",
      key: recipient,
      cap: limits.perMinute,
      windowMs: MINUTE_MS,
    },
    {
      limit: "number_hour",
      scope: "recipient",
      key: recipient,
      cap: limits.perHour,
      windowMs: HOUR_MS,
    },
    {
      limit: "number_day",
      scope: "recipient",
      key: recipient,
      cap: limits.perDay,
      windowMs: DAY_MS,
    },
  ];
  if (phone) {
    rules.push({
      limit: "prefix_velocity",
      scope: "prefix",
      key: phone.range,
      cap: limits.prefixPerHour,
      windowMs: HOUR_MS,
    });
    if (phone.country !== null) {
      rules.push({
        limit: "country_day",
        scope: "country",
        key: phone.country,
        cap: limits.countryPerDay,
        windowMs: DAY_MS,
      });
    }
  }
  return rules;
}

/** Milliseconds until the rule admits a send, or null if it does now. */
export function windowWait(sql: SqlStorage, rule: WindowRule, now: number): number | null {
  return windowWaitMs(
    capthNewest(sql, rule.scope, rule.key, rule.cap, rule.windowMs, now),
    rule.windowMs,
    now,
  );
}

function countSince(
  sql: SqlStorage,
  table: "sends" | "approvals",
  scope: SendScope,
  key: string,
  since: number,
): number {
  const row = firstRow(
    sql,
    `SELECT count(*) AS n FROM ${table} WHERE scope = ? AND key = ? AND at > ?`,
    scope,
    key,
    since,
  );
  return Number(row?.n ?? 0);
}

function timesSince(
  sql: SqlStorage,
  table: "sends" | "approvals",
  scope: SendScope,
  key: string,
  since: number,
): number[] {
  return allRows(
    sql,
    `SELECT at FROM ${table} WHERE scope = ? AND key = ? AND at > ?`,
    scope,
    key,
    since,
  ).map((row) => Number(row.at));
}

/**
 * Milliseconds until the fraud guard lets codes go to this range or country again, or null. The
 * two counts decide; the times are read only when it is tripped, to say how long.
 */
export function conversionWait(
  sql: SqlStorage,
  guard: FraudGuard,
  scope: "prefix" | "country",
  key: string,
  now: number,
): number | null {
  if (!guard.enabled) {
    return null;
  }
  const since = now - HOUR_MS;
  const sent = countSince(sql, "sends", scope, key, since);
  const approved = countSince(sql, "approvals", scope, key, since);
  if (sent < guard.minVolume || approved >= guard.threshold * sent) {
    return null;
  }
  return conversionWaitMs(
    timesSince(sql, "sends", scope, key, since),
    timesSince(sql, "approvals", scope, key, since),
    guard,
    now,
  );
}

export function recordSend(
  sql: SqlStorage,
  reservation: string,
  scope: SendScope,
  key: string,
  at: number,
): void {
  sql.exec(
    "INSERT INTO sends (reservation, scope, key, at) VALUES (?, ?, ?, ?)",
    reservation,
    scope,
    key,
    at,
  );
}

export function recordApproval(
  sql: SqlStorage,
  scope: "prefix" | "country",
  key: string,
  at: number,
): void {
  sql.exec("INSERT INTO approvals (scope, key, at) VALUES (?, ?, ?)", scope, key, at);
}

export function forgetReservation(sql: SqlStorage, reservation: string): void {
  sql.exec("DELETE FROM sends WHERE reservation = ?", reservation);
}

export function countRefusal(sql: SqlStorage, day: string, limit: LimitName): void {
  sql.exec(
    `INSERT INTO refusals (day, limit_name, count) VALUES (?, ?, 1)
     ON CONFLICT (day, limit_name) DO UPDATE SET count = count + 1`,
    day,
    limit,
  );
}

export function refusalRows(
  sql: SqlStorage,
  fromDay: string,
  toDay: string,
): { day: string; limit: LimitName; count: number }[] {
  return allRows(
    sql,
    "SELECT day, limit_name, count FROM refusals WHERE day >= ? AND day <= ? ORDER BY day",
    fromDay,
    toDay,
  ).map((row) => ({
    day: String(row.day),
    limit: String(row.limit_name) as LimitName,
    count: Number(row.count),
  }));
}

/** Drops what no window can see any more: sends older than a day, approvals older than an hour. */
export function pruneCounters(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM sends WHERE at <= ?", now - DAY_MS);
  sql.exec("DELETE FROM approvals WHERE at <= ?", now - HOUR_MS);
  // The stats read refusals by day; a little over a year of them is kept.
  sql.exec(
    "DELETE FROM refusals WHERE day < ?",
    new Date(now - 400 * DAY_MS).toISOString().slice(0, 10),
  );
}
