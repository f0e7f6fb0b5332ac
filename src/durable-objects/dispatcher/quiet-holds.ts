/**
 * Marketing held for the tenant's quiet hours, at acceptance and in the D1 send log. The quiet
 * hours used are the dispatcher's own (`configure()` updates them before a change is answered),
 * never a caller's cached copy. A held message says why with the reason `quiet_hours`: one held
 * before it reached D1 reads `scheduled` (it waits for the window's end), one held after it was
 * logged keeps its status (statuses only move forward) and gains the reason; let go, the reason
 * is cleared.
 */

import { type BatchRecord, QUIET_HOURS_REASON } from "../../delivery/dispatcher-types";
import { type QuietHours, releaseTimeAfterQuietHours } from "../../domain/quiet-hours";
import { allRows } from "../../lib/sql-rows";

/** Until when a message to `country` due at `sendAt` is held, or null when it may go then. */
export function heldUntil(
  quiet: QuietHours | null,
  country: string | null,
  sendAt: number,
): number | null {
  if (!quiet || country === null) {
    return null;
  }
  const opens = releaseTimeAfterQuietHours(sendAt, quiet, country);
  return opens > sendAt ? opens : null;
}

/**
 * Holds a just committed marketing batch's messages to countries inside the quiet hours when it
 * would go (its send time, or now), one statement per country, before the flush could log them
 * as queued.
 */
export function holdBatch(
  sql: SqlStorage,
  record: BatchRecord,
  quiet: QuietHours,
  now: number,
): void {
  const countries = allRows(
    sql,
    `SELECT DISTINCT quiet_group FROM outbox INDEXED BY outbox_batch
     WHERE batch_id = ? AND quiet_group IS NOT NULL`,
    record.id,
  ).map((row) => String(row.quiet_group));
  for (const country of countries) {
    const until = heldUntil(quiet, country, Math.max(record.sendAt, now));
    if (until !== null) {
      sql.exec(
        `UPDATE outbox SET state = 'held', held_until = ?
         WHERE batch_id = ? AND quiet_group = ? AND state = 'pending' AND send_at < ?`,
        until,
        record.id,
        country,
        until,
      );
    }
  }
}

/** Ids per statement: one JSON parameter each, well under D1's limits. */
const IDS_PER_STATEMENT = 5_000;

/**
 * Brings the send log's view of holds up to date: messages held since they were logged gain the
 * reason `quiet_hours`, those let go since lose it. Only messages still waiting are changed, so a
 * consumer's claim or a cancel is never undone. Two index probes when there is nothing to do.
 * Written on each of the tenant's send-log partitions (`logs`): a message is on one of them.
 */
export async function showHolds(sql: SqlStorage, logs: D1Database[], now: number): Promise<void> {
  const held = allRows(
    sql,
    `SELECT id FROM outbox INDEXED BY outbox_hold_unshown
     WHERE state = 'held' AND logged = 1 AND logged_held = 0`,
  ).map((row) => String(row.id));
  const letGo = allRows(
    sql,
    `SELECT id FROM outbox INDEXED BY outbox_hold_shown
     WHERE logged_held = 1 AND state <> 'held'`,
  ).map((row) => String(row.id));
  if (held.length === 0 && letGo.length === 0) {
    return;
  }
  const reasonOf = (db: D1Database, ids: string[], reason: string | null) =>
    chunks(ids).map((chunk) =>
      db
        .prepare(
          `UPDATE messages SET status_reason = ?, updated_at = ?
           WHERE id IN (SELECT value FROM json_each(?)) AND status IN ('scheduled', 'queued')
             AND (status_reason IS NULL OR status_reason = ?)`,
        )
        .bind(reason, now, JSON.stringify(chunk), QUIET_HOURS_REASON),
    );
  for (const db of logs) {
    await db.batch([...reasonOf(db, held, QUIET_HOURS_REASON), ...reasonOf(db, letGo, null)]);
  }
  // What D1 shows now, whatever happened to the rows meanwhile: a row held or let go again
  // during the write is found by the next run.
  sql.exec(
    "UPDATE outbox SET logged_held = 1 WHERE id IN (SELECT value FROM json_each(?))",
    JSON.stringify(held),
  );
  sql.exec(
    "UPDATE outbox SET logged_held = 0 WHERE id IN (SELECT value FROM json_each(?))",
    JSON.stringify(letGo),
  );
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += IDS_PER_STATEMENT) {
    out.push(items.slice(i, i + IDS_PER_STATEMENT));
  }
  return out;
}
