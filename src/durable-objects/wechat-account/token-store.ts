/**
 * The WeChatAccount's token tables, and the limit on forced refreshes.
 *
 * access_token: the app's current token (one row). The object's storage is its own and encrypted
 * at rest by Cloudflare; the token is never copied anywhere else.
 * forced_refreshes: when each `force_refresh` was sent, kept for 24 h.
 *
 * Each table is created on its own with `IF NOT EXISTS`, so other tables of this object (inbound
 * dedup) can be added beside them the same way.
 */
import { firstRow } from "../../lib/sql-rows";

export interface StoredToken {
  appId: string;
  token: string;
  /** Unix ms. */
  expiresAt: number;
  /** Unix ms: when the request that got it was sent. */
  fetchedAt: number;
}

/**
 * WeChat's limit on `force_refresh`: 20 a day, 30 s apart. We count the 20 over any 24 hours
 * rather than per calendar day: it keeps within the limit whichever time zone WeChat's day is
 * counted in (UTC+8, most likely), where a per-UTC-day count could send 40 in one Beijing day.
 */
export const FORCED_REFRESHES_PER_DAY = 20;
export const FORCED_REFRESH_GAP_MS = 30_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export function migrateTokenTables(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS access_token (
      app_id TEXT PRIMARY KEY,
      token TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      fetched_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS forced_refreshes (at INTEGER NOT NULL);
  `);
}

export function readToken(sql: SqlStorage): StoredToken | null {
  const row = firstRow(sql, "SELECT app_id, token, expires_at, fetched_at FROM access_token");
  if (!row) {
    return null;
  }
  return {
    appId: String(row.app_id),
    token: String(row.token),
    expiresAt: Number(row.expires_at),
    fetchedAt: Number(row.fetched_at),
  };
}

export function saveToken(sql: SqlStorage, token: StoredToken): void {
  sql.exec("DELETE FROM access_token");
  sql.exec(
    "INSERT INTO access_token (app_id, token, expires_at, fetched_at) VALUES (?, ?, ?, ?)",
    token.appId,
    token.token,
    token.expiresAt,
    token.fetchedAt,
  );
}

/** Forgets the token: the app changed owner. */
export function dropToken(sql: SqlStorage): void {
  sql.exec("DELETE FROM access_token");
}

/**
 * Takes a forced refresh from the allowance, or says how long until one is allowed. Old entries
 * are dropped on the way.
 */
export function takeForcedRefresh(
  sql: SqlStorage,
  now: number,
): { allowed: true } | { allowed: false; retryAfterMs: number } {
  sql.exec("DELETE FROM forced_refreshes WHERE at <= ?", now - DAY_MS);
  const times = sql
    .exec<{ at: number }>("SELECT at FROM forced_refreshes ORDER BY at")
    .toArray()
    .map((row) => row.at);
  const verdict = forcedRefreshVerdict(times, now);
  if (verdict.allowed) {
    sql.exec("INSERT INTO forced_refreshes (at) VALUES (?)", now);
  }
  return verdict;
}

/** `times`: the forced refreshes of the last 24 hours, oldest first. */
export function forcedRefreshVerdict(
  times: readonly number[],
  now: number,
): { allowed: true } | { allowed: false; retryAfterMs: number } {
  let allowedAt = now;
  const last = times.at(-1);
  if (last !== undefined) {
    allowedAt = Math.max(allowedAt, last + FORCED_REFRESH_GAP_MS);
  }
  const oldestCounted = times.at(-FORCED_REFRESHES_PER_DAY);
  if (times.length >= FORCED_REFRESHES_PER_DAY && oldestCounted !== undefined) {
    allowedAt = Math.max(allowedAt, oldestCounted + DAY_MS);
  }
  return allowedAt <= now ? { allowed: true } : { allowed: false, retryAfterMs: allowedAt - now };
}
