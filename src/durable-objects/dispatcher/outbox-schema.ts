/**
 * The TenantDispatcher's own SQLite tables, created or brought up to date when an instance starts.
 *
 * outbox: one row per accepted message until its send result is in. `state` is `staged` (part of
 * a batch still being uploaded: invisible until the batch commits), `pending`, `held` (marketing
 * whose recipient is inside the tenant's quiet hours, until `held_until`), `released` (on the
 * queue) or `canceled` (canceled before it reached the D1 send log, which it still must). `lane`
 * 0 is transactional, 1 bulk; `vtag` is the fair-queuing tag; `quiet_group` the recipient's
 * country for a marketing message (quiet hours apply), else NULL; `logged_held` is 1 while the D1
 * send log shows the message held for quiet hours (see quiet-holds.ts); `sms_fallback` is 1 for a
 * message taken back for its SMS fallback, whose release its queue job names (delivery/payloads).
 * batches: a committed batch's record until it is written to D1.
 * committed_batches: every batch committed here, until `forget_at`, so that an upload retried under
 * the same Idempotency-Key (its ids follow from the key) never commits it a second time.
 */

export const LANE_TRANSACTIONAL = 0;
export const LANE_BULK = 1;

export function migrateOutbox(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      recipient TEXT NOT NULL,
      send_at INTEGER NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending',
      logged INTEGER NOT NULL DEFAULT 0,
      released_at INTEGER,
      message TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, send_at, seq);
    CREATE TABLE IF NOT EXISTS idempotency (
      key TEXT PRIMARY KEY,
      request_hash TEXT NOT NULL,
      response TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
    DROP TABLE IF EXISTS receipt_deadlines;
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS committed_batches (id TEXT PRIMARY KEY, forget_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS committed_batches_forget ON committed_batches (forget_at);
  `);
  const columns = new Set(
    sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info('outbox')")
      .toArray()
      .map((c) => c.name),
  );
  // Outboxes from before each column start with its default.
  const added: [string, string][] = [
    ["vtag", "REAL NOT NULL DEFAULT 0"],
    ["lane", "INTEGER NOT NULL DEFAULT 0"],
    ["batch_id", "TEXT"],
    ["staged_at", "INTEGER"],
    ["quiet_group", "TEXT"],
    ["held_until", "INTEGER"],
    ["logged_held", "INTEGER NOT NULL DEFAULT 0"],
    ["sms_fallback", "INTEGER NOT NULL DEFAULT 0"],
    // The send-log partition the row was logged to (partitions.ts); NULL before it was, and for
    // rows logged before the column (found by looking, then noted).
    ["send_log", "TEXT"],
  ];
  for (const [name, definition] of added) {
    if (!columns.has(name)) {
      sql.exec(`ALTER TABLE outbox ADD COLUMN ${name} ${definition}`);
    }
  }
  sql.exec(`
    DROP INDEX IF EXISTS outbox_fair;
    DROP INDEX IF EXISTS outbox_unlogged;
    DROP INDEX IF EXISTS outbox_unlogged_lane;
    -- A recipient's rows are found through outbox_recipient_tag; a second index on recipient
    -- only cost every insert and delete a write.
    DROP INDEX IF EXISTS outbox_recipient;
    CREATE INDEX IF NOT EXISTS outbox_lane_fair ON outbox (state, lane, vtag, seq);
    CREATE INDEX IF NOT EXISTS outbox_recipient_tag ON outbox (recipient, vtag);
    CREATE INDEX IF NOT EXISTS outbox_batch ON outbox (batch_id) WHERE batch_id IS NOT NULL;
    -- What the flush reads: transactional messages not yet in D1; bulk ones by due time; and
    -- how many bulk messages are logged and waiting (the window kept ahead of releases).
    CREATE INDEX IF NOT EXISTS outbox_unlogged_transactional ON outbox (seq)
      WHERE logged = 0 AND lane = 0;
    CREATE INDEX IF NOT EXISTS outbox_unlogged_bulk ON outbox (send_at, seq)
      WHERE logged = 0 AND lane = 1 AND state = 'pending';
    -- The columns of its condition are in the index too: SQLite then counts the window from the
    -- index alone. Without them (outbox_bulk_ready) it read the row of each of the thousands of
    -- messages counted, on every release tick of a large batch.
    DROP INDEX IF EXISTS outbox_bulk_ready;
    CREATE INDEX IF NOT EXISTS outbox_bulk_logged ON outbox (send_at, logged, lane, state)
      WHERE logged = 1 AND lane = 1 AND state = 'pending';
    -- Released messages awaiting their send result: the queue's backlog.
    CREATE INDEX IF NOT EXISTS outbox_released ON outbox (released_at) WHERE state = 'released';
    -- Quiet hours: the countries with marketing waiting, and what is held until when.
    CREATE INDEX IF NOT EXISTS outbox_quiet ON outbox (quiet_group, send_at)
      WHERE state = 'pending' AND quiet_group IS NOT NULL;
    CREATE INDEX IF NOT EXISTS outbox_held ON outbox (held_until) WHERE state = 'held';
    -- Where the send log's view of a hold is behind: held but not shown, shown but let go.
    CREATE INDEX IF NOT EXISTS outbox_hold_unshown ON outbox (seq)
      WHERE state = 'held' AND logged = 1 AND logged_held = 0;
    CREATE INDEX IF NOT EXISTS outbox_hold_shown ON outbox (seq)
      WHERE logged_held = 1 AND state <> 'held';
  `);
}
