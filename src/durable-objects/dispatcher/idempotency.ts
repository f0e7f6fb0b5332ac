/** The dispatcher's idempotency keys: each replays its first answer for 24 h. */
import type { AcceptedMessage, AcceptRequest, AcceptResult } from "../../delivery/dispatcher-types";
import { firstRow } from "../../lib/sql-rows";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

type Idempotency = NonNullable<AcceptRequest["idempotency"]>;

/** The answer a key already got (a conflict if the request differs), or undefined for a new key. */
export function priorAnswer(
  sql: SqlStorage,
  idempotency: Idempotency,
  now: number,
): AcceptResult | undefined {
  const prior = firstRow(
    sql,
    "SELECT request_hash, response FROM idempotency WHERE key = ? AND expires_at > ?",
    idempotency.key,
    now,
  );
  if (!prior) {
    return undefined;
  }
  return prior.request_hash === idempotency.requestHash
    ? { kind: "replayed", response: JSON.parse(String(prior.response)) }
    : { kind: "idempotency-conflict" };
}

export function rememberAnswer(
  sql: SqlStorage,
  idempotency: Idempotency,
  response: AcceptedMessage,
  now: number,
): void {
  sql.exec(
    "INSERT OR REPLACE INTO idempotency (key, request_hash, response, expires_at) VALUES (?, ?, ?, ?)",
    idempotency.key,
    idempotency.requestHash,
    JSON.stringify(response),
    now + IDEMPOTENCY_TTL_MS,
  );
}

export function forgetExpiredKeys(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
  // key_forwards exists only on a sharded tenant's home shard (made on its first forward).
  if (firstRow(sql, "SELECT 1 AS found FROM sqlite_master WHERE name = 'key_forwards'")) {
    sql.exec("DELETE FROM key_forwards WHERE expires_at <= ?", now);
  }
}

/**
 * Sharded dispatch (domain/dispatch-shards): the home shard's record of a key it has forwarded
 * to another shard and not yet heard back about. A second request with the key and another body
 * is a conflict even then (the first may have been accepted there); with the same body it goes
 * the same way again, where that shard replays it if it took it.
 */
export function migrateForwards(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS key_forwards (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  )`);
}

/** The body hash a key was forwarded with, if it still waits for its answer. */
export function forwardedHash(sql: SqlStorage, key: string, now: number): string | undefined {
  const row = firstRow(
    sql,
    "SELECT request_hash FROM key_forwards WHERE key = ? AND expires_at > ?",
    key,
    now,
  );
  return row ? String(row.request_hash) : undefined;
}

export function rememberForward(sql: SqlStorage, idempotency: Idempotency, now: number): void {
  sql.exec(
    "INSERT OR REPLACE INTO key_forwards (key, request_hash, expires_at) VALUES (?, ?, ?)",
    idempotency.key,
    idempotency.requestHash,
    now + IDEMPOTENCY_TTL_MS,
  );
}

export function forgetForward(sql: SqlStorage, key: string): void {
  sql.exec("DELETE FROM key_forwards WHERE key = ?", key);
}
