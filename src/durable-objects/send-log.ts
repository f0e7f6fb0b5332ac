/** The dispatcher's writes to and reads from the D1 send log, in batches. */
import type { OutboxMessage } from "./dispatcher-types";

const COLUMNS = [
  "id",
  "tenant_id",
  "channel",
  "recipient",
  "sender",
  "body",
  "metadata",
  "mode",
  "status",
  "segments",
  "encoding",
  "idempotency_key",
  "created_at",
  "updated_at",
] as const;
// D1 binds at most 100 parameters per statement: 7 rows of 14 columns.
const ROWS_PER_INSERT = Math.floor(100 / COLUMNS.length);

function insertStatement(db: D1Database, rows: number): D1PreparedStatement {
  const row = `(${COLUMNS.map(() => "?").join(", ")})`;
  return db.prepare(
    `INSERT OR IGNORE INTO messages (${COLUMNS.join(", ")}) VALUES ${Array(rows).fill(row).join(", ")}`,
  );
}

function valuesOf(m: OutboxMessage): (string | number | null)[] {
  return [
    m.id,
    m.tenantId,
    m.channel,
    m.recipient,
    m.sender,
    m.body,
    m.metadata ? JSON.stringify(m.metadata) : null,
    m.mode,
    m.sendAt > m.createdAt ? "scheduled" : "queued",
    m.segments,
    m.encoding,
    m.idempotencyKey,
    m.createdAt,
    m.createdAt,
  ];
}

/** Writes accepted messages to the send log, several rows per statement, all in one batch. */
export async function logMessages(db: D1Database, batch: OutboxMessage[]): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < batch.length; i += ROWS_PER_INSERT) {
    const chunk = batch.slice(i, i + ROWS_PER_INSERT);
    statements.push(insertStatement(db, chunk.length).bind(...chunk.flatMap(valuesOf)));
  }
  if (statements.length > 0) {
    await db.batch(statements);
  }
}

export interface LoggedState {
  status: string;
  updatedAt: number;
}

/** Status and last change by id; D1 allows at most 100 bound parameters per query. */
export async function readStates(db: D1Database, ids: string[]): Promise<Map<string, LoggedState>> {
  const states = new Map<string, LoggedState>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const placeholders = chunk.map(() => "?").join(",");
    const { results } = await db
      .prepare(`SELECT id, status, updated_at FROM messages WHERE id IN (${placeholders})`)
      .bind(...chunk)
      .all<{ id: string; status: string; updated_at: number }>();
    for (const row of results) {
      states.set(row.id, { status: row.status, updatedAt: row.updated_at });
    }
  }
  return states;
}

/**
 * Ends `expired` the tenant's sent messages whose receipt is overdue, and says when the next of
 * its still-sent messages will be (null when none is waiting).
 */
export async function expireOverdue(
  db: D1Database,
  tenantId: string,
  now: number,
  deadlineMs: number,
): Promise<number | null> {
  const reason = `no delivery receipt within ${deadlineMs / 1000} s of sending`;
  const [, next] = await db.batch<{ at: number | null }>([
    db
      .prepare(
        `UPDATE messages SET status = 'expired', status_reason = ?, completed_at = ?, updated_at = ?
         WHERE tenant_id = ? AND status = 'sent' AND sent_at <= ?`,
      )
      .bind(reason, now, now, tenantId, now - deadlineMs),
    db
      .prepare("SELECT MIN(sent_at) AS at FROM messages WHERE tenant_id = ? AND status = 'sent'")
      .bind(tenantId),
  ]);
  const at = next?.results[0]?.at;
  return at === null || at === undefined ? null : at + deadlineMs;
}
