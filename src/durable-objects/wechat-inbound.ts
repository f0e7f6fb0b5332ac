/**
 * The WeChatAccount's inbound side: exactly-once delivery of WeChat's messages and events. WeChat
 * retries a delivery three times when it has no answer within 5 s, and those may land in different
 * isolates at once; the account's Durable Object serialises them. A delivery's dedup record, its
 * inbox row and the reply we gave are written in one SQLite transaction, so a retry gets the same
 * reply and nothing twice; the inbox rows are then copied to D1 (INSERT OR IGNORE, so a copy that
 * is repeated after a failure changes nothing).
 */
import type { InboxRowValues } from "./wechat-inbound-types";

const SEEN_TTL_MS = 24 * 60 * 60 * 1000;

export function migrateInbound(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS inbound_seen (
      dedup_key TEXT PRIMARY KEY,
      reply TEXT,
      seen_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS inbound_seen_at ON inbound_seen (seen_at);
    CREATE TABLE IF NOT EXISTS inbound_pending (
      id TEXT PRIMARY KEY,
      row TEXT NOT NULL
    );
  `);
}

/**
 * Records a delivery once. Returns the reply stored with its first delivery when it was seen
 * before (`duplicate`), else stores this one's dedup record, inbox row and reply together.
 */
export function recordInbound(
  sql: SqlStorage,
  row: InboxRowValues,
  reply: string | null,
  now: number,
): { duplicate: boolean; reply: string | null } {
  const seen = sql
    .exec<{ reply: string | null }>(
      "SELECT reply FROM inbound_seen WHERE dedup_key = ?",
      row.dedupKey,
    )
    .toArray()[0];
  if (seen) {
    return { duplicate: true, reply: seen.reply };
  }
  sql.exec(
    "INSERT INTO inbound_seen (dedup_key, reply, seen_at) VALUES (?, ?, ?)",
    row.dedupKey,
    reply,
    now,
  );
  sql.exec("INSERT INTO inbound_pending (id, row) VALUES (?, ?)", row.id, JSON.stringify(row));
  // WeChat retries within a minute; a day of dedup records is plenty and keeps the table small.
  sql.exec("DELETE FROM inbound_seen WHERE seen_at < ?", now - SEEN_TTL_MS);
  return { duplicate: false, reply };
}

/** Copies pending inbox rows to D1 and forgets them; safe to run again after a failure. */
export async function flushInbox(sql: SqlStorage, db: D1Database): Promise<void> {
  const pending = sql
    .exec<{ id: string; row: string }>("SELECT id, row FROM inbound_pending")
    .toArray();
  if (pending.length === 0) {
    return;
  }
  await db.batch(
    pending.map(({ row }) => {
      const r = JSON.parse(row) as InboxRowValues;
      return db
        .prepare(
          `INSERT OR IGNORE INTO wechat_inbox (id, tenant_id, app_id, dedup_key, msg_type, event,
             event_key, from_user, to_user, create_time, fields, reply, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(
          r.id,
          r.tenantId,
          r.appId,
          r.dedupKey,
          r.msgType,
          r.event,
          r.eventKey,
          r.fromUser,
          r.toUser,
          r.createTime,
          JSON.stringify(r.fields),
          r.reply ? JSON.stringify(r.reply) : null,
          r.receivedAt,
        );
    }),
  );
  for (const { id } of pending) {
    sql.exec("DELETE FROM inbound_pending WHERE id = ?", id);
  }
}
