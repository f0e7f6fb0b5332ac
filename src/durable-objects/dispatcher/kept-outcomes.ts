/**
 * Send outcomes a dispatch consumer could not record in D1 (D1 was down for longer than its
 * retries). A provider answered, and losing the answer would let a later delivery call again, so
 * the consumer hands them to the tenant's dispatcher, which keeps them here and writes them to D1
 * from its alarm, sooner after a blip and less often in a long outage, until D1 takes them; then
 * with their events, as the consumer would have (delivery/status-writer `recordAttempts`). Writing
 * one twice changes nothing: its attempt row is replaced by the same, its change applies only
 * while its claim holds the message, and its events are the same rows.
 */
import { sendLogNamed } from "../../delivery/send-logs";
import { type OutcomeRecord, recordAttempts } from "../../delivery/status-writer";
import { createLogger } from "../../lib/log";

/** Tries again after half the age of the oldest kept outcome, within these bounds. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** Outcomes written per alarm run: one D1 batch of a few statements per hundred. */
const WRITE_PER_RUN = 500;

export function migrateKeptOutcomes(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS kept_outcomes (
      attempt_id TEXT PRIMARY KEY,
      message_id TEXT NOT NULL,
      record TEXT NOT NULL,
      kept_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS kept_outcomes_message ON kept_outcomes (message_id);
  `);
  // The send-log partition of the outcome's message (NULL: the main one).
  const columns = sql
    .exec<{ name: string }>("SELECT name FROM pragma_table_info('kept_outcomes')")
    .toArray();
  if (!columns.some((c) => c.name === "send_log")) {
    sql.exec("ALTER TABLE kept_outcomes ADD COLUMN send_log TEXT");
  }
}

export function storeOutcomes(
  sql: SqlStorage,
  records: readonly OutcomeRecord[],
  now: number,
  sendLog?: string,
): void {
  for (const record of records) {
    sql.exec(
      `INSERT OR IGNORE INTO kept_outcomes (attempt_id, message_id, record, kept_at, send_log)
       VALUES (?, ?, ?, ?, ?)`,
      record.attempt.attemptId,
      record.message.id,
      JSON.stringify(record),
      now,
      sendLog ?? null,
    );
  }
}

/** When the alarm should try the kept outcomes next, or null when none is kept. */
export function keptOutcomesRetryAt(sql: SqlStorage, now: number): number | null {
  return retryAfterKept(
    sql.exec<{ at: number | null }>(`SELECT ${OLDEST_KEPT_SQL} AS at`).one().at,
    now,
  );
}

/** The oldest kept outcome's `kept_at` (NULL when none), as an SQL expression. */
export const OLDEST_KEPT_SQL = "(SELECT MIN(kept_at) FROM kept_outcomes)";

/** When to try the kept outcomes again, given the oldest one's `kept_at` (null when none). */
export function retryAfterKept(oldest: number | null, now: number): number | null {
  if (oldest === null) {
    return null;
  }
  return now + Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, (now - oldest) / 2));
}

/** Which of these messages have an outcome kept here, not yet in D1. */
export function withKeptOutcomes(sql: SqlStorage, ids: readonly string[]): Set<string> {
  const rows = sql
    .exec<{ message_id: string }>(
      `SELECT DISTINCT message_id FROM kept_outcomes
       WHERE message_id IN (SELECT value FROM json_each(?))`,
      JSON.stringify(ids),
    )
    .toArray();
  return new Set(rows.map((row) => row.message_id));
}

/**
 * Writes kept outcomes to D1 and forgets them. Never throws: what D1 did not take stays for the
 * next run (`keptOutcomesRetryAt`).
 */
export async function writeKeptOutcomes(sql: SqlStorage, env: Env): Promise<void> {
  const rows = sql
    .exec<{ attempt_id: string; record: string; send_log: string | null }>(
      "SELECT attempt_id, record, send_log FROM kept_outcomes ORDER BY kept_at LIMIT ?",
      WRITE_PER_RUN,
    )
    .toArray();
  if (rows.length === 0) {
    return;
  }
  // Each on the send-log partition of its message, one batch per partition.
  const byPartition = new Map<D1Database, typeof rows>();
  for (const row of rows) {
    const db = sendLogNamed(env, row.send_log ?? undefined);
    byPartition.set(db, [...(byPartition.get(db) ?? []), row]);
  }
  for (const [db, list] of byPartition) {
    const records = list.map((row) => JSON.parse(row.record) as OutcomeRecord);
    try {
      await recordAttempts(env, db, records);
    } catch (error) {
      createLogger(env.LOG_LEVEL).error("dispatcher: kept send outcomes not written to D1 yet", {
        count: records.length,
        error,
      });
      continue;
    }
    for (const row of list) {
      sql.exec("DELETE FROM kept_outcomes WHERE attempt_id = ?", row.attempt_id);
    }
  }
}
