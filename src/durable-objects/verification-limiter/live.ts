/**
 * The VerificationLimiter's live verifications (it is their authority: starts, checks, cancels and
 * expiry change them here, in one synchronous step each) and its D1 outbox: every change appends
 * the row's new revision (and a message's masked texts, an event) to the outbox in the same step,
 * and the object's alarm flushes it to D1 at once, retrying until D1 takes it.
 */

import type { MaskedTexts, VerificationRow } from "../../delivery/verification-records";
import { allRows, firstRow, type Row } from "../../lib/sql-rows";

export function migrateLive(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS live (
      id TEXT PRIMARY KEY,
      key TEXT NOT NULL,
      row TEXT NOT NULL,
      status TEXT NOT NULL,
      recipient_to TEXT NOT NULL,
      mode TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS live_key ON live (key, status, expires_at);
    CREATE INDEX IF NOT EXISTS live_to ON live (recipient_to, created_at);
    CREATE INDEX IF NOT EXISTS live_due ON live (status, expires_at);
    CREATE TABLE IF NOT EXISTS d1_outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      body TEXT NOT NULL,
      reservation TEXT,
      in_flight INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS admitted (
      reservation TEXT PRIMARY KEY,
      id TEXT NOT NULL,
      previous TEXT,
      at INTEGER NOT NULL
    );
  `);
}

export type OutboxKind = "row" | "masked" | "event" | "drop";

export interface OutboxEntry {
  seq: number;
  kind: OutboxKind;
  body: unknown;
}

function rowOf(stored: Row | undefined): VerificationRow | undefined {
  return stored ? (JSON.parse(String(stored.row)) as VerificationRow) : undefined;
}

export function liveById(sql: SqlStorage, id: string): VerificationRow | undefined {
  return rowOf(firstRow(sql, "SELECT row FROM live WHERE id = ?", id));
}

/** The pending, unexpired verification to `key` (mode, channel, recipient), if there is one. */
export function livePending(
  sql: SqlStorage,
  key: string,
  now: number,
): VerificationRow | undefined {
  return rowOf(
    firstRow(
      sql,
      "SELECT row FROM live WHERE key = ? AND status = 'pending' AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
      key,
      now,
    ),
  );
}

/** The latest verification to `to` in one of `modes`. */
export function liveLatestTo(
  sql: SqlStorage,
  to: string,
  modes: readonly string[],
): VerificationRow | undefined {
  return rowOf(
    firstRow(
      sql,
      "SELECT row FROM live WHERE recipient_to = ? AND mode IN (SELECT value FROM json_each(?)) ORDER BY created_at DESC, rowid DESC LIMIT 1",
      to,
      JSON.stringify(modes),
    ),
  );
}

/** Stores the row (a new revision) and appends it to the outbox. */
export function saveLive(
  sql: SqlStorage,
  key: string,
  row: VerificationRow,
  reservation: string | null = null,
): void {
  sql.exec(
    `INSERT INTO live (id, key, row, status, recipient_to, mode, created_at, expires_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET row = excluded.row, status = excluded.status,
       expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    row.id,
    key,
    JSON.stringify(row),
    row.status,
    row.to,
    row.mode,
    row.createdAt,
    row.expiresAt,
    row.updatedAt,
  );
  enqueue(sql, "row", row, reservation);
}

export function keyOfLive(sql: SqlStorage, id: string): string | undefined {
  const row = firstRow(sql, "SELECT key FROM live WHERE id = ?", id);
  return row ? String(row.key) : undefined;
}

export function dropLive(sql: SqlStorage, id: string): void {
  sql.exec("DELETE FROM live WHERE id = ?", id);
}

export function enqueue(
  sql: SqlStorage,
  kind: OutboxKind,
  body: unknown,
  reservation: string | null = null,
): void {
  sql.exec(
    "INSERT INTO d1_outbox (kind, body, reservation) VALUES (?, ?, ?)",
    kind,
    JSON.stringify(body),
    reservation,
  );
}

export function enqueueMasked(sql: SqlStorage, masked: MaskedTexts, reservation: string | null) {
  enqueue(sql, "masked", masked, reservation);
}

/** Marks up to `limit` of the oldest entries in flight and answers them. */
export function takeOutbox(sql: SqlStorage, limit: number): OutboxEntry[] {
  const rows = allRows(sql, "SELECT seq, kind, body FROM d1_outbox ORDER BY seq LIMIT ?", limit);
  if (rows.length > 0) {
    sql.exec("UPDATE d1_outbox SET in_flight = 1 WHERE seq <= ?", Number(rows.at(-1)?.seq));
  }
  return rows.map((row) => ({
    seq: Number(row.seq),
    kind: String(row.kind) as OutboxKind,
    body: JSON.parse(String(row.body)),
  }));
}

export function outboxDone(sql: SqlStorage, upTo: number): void {
  sql.exec("DELETE FROM d1_outbox WHERE seq <= ?", upTo);
}

export function outboxFailed(sql: SqlStorage): void {
  sql.exec("UPDATE d1_outbox SET in_flight = 0");
}

export function outboxSize(sql: SqlStorage): number {
  return Number(firstRow(sql, "SELECT count(*) AS n FROM d1_outbox")?.n ?? 0);
}

/**
 * Takes back a reservation's outbox entries that D1 has not started to take: true when there were
 * some and none was in flight (nothing of it reached D1), false when D1 may hold them.
 */
export function withdrawUnflushed(sql: SqlStorage, reservation: string): boolean {
  const flying = firstRow(
    sql,
    "SELECT count(*) AS n FROM d1_outbox WHERE reservation = ? AND in_flight = 1",
    reservation,
  );
  const waiting = firstRow(
    sql,
    "SELECT count(*) AS n FROM d1_outbox WHERE reservation = ?",
    reservation,
  );
  if (Number(flying?.n ?? 0) > 0 || Number(waiting?.n ?? 0) === 0) {
    return false;
  }
  sql.exec("DELETE FROM d1_outbox WHERE reservation = ?", reservation);
  return true;
}

/** The pending verifications past their expiry. */
export function dueLive(sql: SqlStorage, now: number): VerificationRow[] {
  return allRows(
    sql,
    "SELECT row FROM live WHERE status = 'pending' AND expires_at <= ? LIMIT 100",
    now,
  ).map((r) => JSON.parse(String(r.row)) as VerificationRow);
}

export function nextExpiry(sql: SqlStorage): number | undefined {
  const row = firstRow(sql, "SELECT min(expires_at) AS at FROM live WHERE status = 'pending'");
  return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
}

/** Forgets verifications that ended over a day ago (D1 keeps them; reads fall back to it). */
export function pruneLive(sql: SqlStorage, now: number): void {
  sql.exec(
    "DELETE FROM live WHERE status <> 'pending' AND updated_at <= ? AND id NOT IN (SELECT json_extract(body, '$.id') FROM d1_outbox WHERE kind = 'row')",
    now - 86_400_000,
  );
  sql.exec("DELETE FROM admitted WHERE at <= ?", now - 600_000);
}

export function rememberAdmitted(
  sql: SqlStorage,
  reservation: string,
  id: string,
  previous: VerificationRow | undefined,
  at: number,
): void {
  sql.exec(
    "INSERT INTO admitted (reservation, id, previous, at) VALUES (?, ?, ?, ?)",
    reservation,
    id,
    previous === undefined ? null : JSON.stringify(previous),
    at,
  );
}

export function takeAdmitted(
  sql: SqlStorage,
  reservation: string,
): { id: string; previous: VerificationRow | undefined } | undefined {
  const row = firstRow(sql, "SELECT id, previous FROM admitted WHERE reservation = ?", reservation);
  if (!row) {
    return undefined;
  }
  sql.exec("DELETE FROM admitted WHERE reservation = ?", reservation);
  return {
    id: String(row.id),
    previous:
      row.previous === null ? undefined : (JSON.parse(String(row.previous)) as VerificationRow),
  };
}
