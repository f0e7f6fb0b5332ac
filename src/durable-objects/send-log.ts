/** The dispatcher's writes to and reads from the D1 send log, in batches. */
import type { OutboxMessage } from "./dispatcher-types";

const INSERT_MESSAGE = `INSERT OR IGNORE INTO messages
  (id, tenant_id, channel, recipient, sender, body, metadata, mode, status, segments, encoding,
   idempotency_key, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export async function logMessages(db: D1Database, batch: OutboxMessage[]): Promise<void> {
  if (batch.length === 0) {
    return;
  }
  const statement = db.prepare(INSERT_MESSAGE);
  await db.batch(
    batch.map((m) =>
      statement.bind(
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
      ),
    ),
  );
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
