/**
 * Writing the outbox to the D1 send log, which must hold a message before it is released.
 * Transactional and canceled messages go first and all of them; the bulk lane only keeps a window
 * of due messages logged ahead of its releases, so a 100k batch is written at the pace it is sent
 * instead of all at once, which would hold D1 (and the consumers' claims on it) for many seconds.
 */

import { batchRecordSchema } from "../../delivery/dispatcher-types";
import { noteMessagesChangedSoon } from "../../delivery/live-updates";
import { cancelLogged } from "../../delivery/status-writer";
import { allRows, firstRow } from "../../lib/sql-rows";
import type { DispatcherMeta } from "./meta";
import { storedMessage } from "./outbox-queries";
import { LANE_BULK, LANE_TRANSACTIONAL } from "./outbox-schema";
import { currentLogOf, noteLoggedTo } from "./partitions";
import { logBatches, logMessages } from "./send-log";

/**
 * Rows written to D1 per alarm run. Bounded so that a 100k batch is logged over many short runs,
 * between which releases (transactional first) go on.
 */
const FLUSH_PER_RUN = 4000;
/** The bulk lane keeps this many seconds of releases (at least BULK_WINDOW_MIN) logged ahead. */
const BULK_WINDOW_SECONDS = 3;
const BULK_WINDOW_MIN = 1000;
/** Bulk messages due within this time count as due for logging ahead. */
export const BULK_LOOKAHEAD_MS = 5_000;

/** Committed batches' records go to D1 before their messages; INSERT OR IGNORE for reruns. */
export async function flushBatches(sql: SqlStorage, db: D1Database): Promise<void> {
  const rows = allRows(sql, "SELECT id, record FROM batches");
  if (rows.length === 0) {
    return;
  }
  await logBatches(
    db,
    rows.map((row) => batchRecordSchema.parse(JSON.parse(String(row.record)))),
  );
  for (const row of rows) {
    // A cancel during the write changed the record: it goes again next run.
    sql.exec("DELETE FROM batches WHERE id = ? AND record = ?", row.id, row.record);
  }
}

/**
 * Writes accepted messages to the D1 send log, at most FLUSH_PER_RUN per alarm run; INSERT OR
 * IGNORE makes a rerun harmless. Returns whether that cap cut the run short: more is ready to
 * write now. Bulk messages left unlogged by a full window are not: releases make room, and the
 * runs that release them log more.
 */
export async function flushToSendLog(
  sql: SqlStorage,
  env: Env,
  meta: DispatcherMeta,
  now: number,
): Promise<boolean> {
  const rows = allRows(
    sql,
    `SELECT id, state, message FROM outbox INDEXED BY outbox_unlogged_transactional
     WHERE logged = 0 AND lane = ${LANE_TRANSACTIONAL} ORDER BY seq LIMIT ?`,
    FLUSH_PER_RUN,
  );
  if (rows.length < FLUSH_PER_RUN) {
    rows.push(
      ...allRows(
        sql,
        `SELECT id, state, message FROM outbox
         WHERE state = 'canceled' AND logged = 0 AND lane = ${LANE_BULK} LIMIT ?`,
        FLUSH_PER_RUN - rows.length,
      ),
    );
  }
  const room = Math.min(FLUSH_PER_RUN - rows.length, await bulkWindowRoom(sql, env.DB, meta, now));
  if (room > 0) {
    rows.push(
      ...allRows(
        sql,
        `SELECT id, state, message FROM outbox INDEXED BY outbox_unlogged_bulk
         WHERE logged = 0 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at <= ?
         ORDER BY send_at, seq LIMIT ?`,
        now + BULK_LOOKAHEAD_MS,
        room,
      ),
    );
  }
  if (rows.length === 0) {
    return false;
  }
  const canceled = new Set(
    rows.filter((row) => row.state === "canceled").map((row) => String(row.id)),
  );
  const written = rows.map((row) => storedMessage(String(row.message)));
  // To the current send-log partition of the tenant's shard; each row notes which (partitions.ts).
  const db = await currentLogOf(env, meta.tenantId(sql) ?? written[0]?.tenantId, meta.shard(sql));
  await logMessages(db, written, now, canceled);
  // New in the send log: the live message list and overview hear of them (after this run's work).
  noteMessagesChangedSoon(
    env,
    written.map((m) => m.tenantId),
  );
  if (canceled.size > 0) {
    // A cancel can land while an earlier run's write is in flight (the object takes calls while it
    // awaits D1): that write logged the message as it was, and the insert above was ignored.
    await cancelLogged(env, db, { ids: [...canceled] }, now);
  }
  const logged = rows.map((row) => String(row.id)).filter((id) => !canceled.has(id));
  if (canceled.size > 0) {
    sql.exec(
      "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))",
      JSON.stringify([...canceled]),
    );
  }
  if (logged.length > 0) {
    // Not one canceled during the write: it stays unlogged, so the next run cancels it in D1.
    // `+state` keeps SQLite on the id index: offered the state index, it walked every pending
    // row (all of a 100k batch) on each run.
    sql.exec(
      "UPDATE outbox SET logged = 1 WHERE id IN (SELECT value FROM json_each(?)) AND +state = 'pending'",
      JSON.stringify(logged),
    );
    noteLoggedTo(sql, env, logged, db);
  }
  return rows.length === FLUSH_PER_RUN;
}

/** How many bulk messages are kept logged ahead of their release at this send rate. */
export function bulkWindow(sendRate: number): number {
  return Math.max(BULK_WINDOW_MIN, Math.ceil(sendRate * BULK_WINDOW_SECONDS));
}

/** How many more bulk messages may be logged ahead of their release. */
async function bulkWindowRoom(
  sql: SqlStorage,
  db: D1Database,
  meta: DispatcherMeta,
  now: number,
): Promise<number> {
  const window = bulkWindow(await meta.sendRate(sql, db));
  const ready = Number(
    firstRow(
      sql,
      `SELECT COUNT(*) AS n FROM (
         SELECT 1 FROM outbox INDEXED BY outbox_bulk_logged
         WHERE logged = 1 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at <= ? LIMIT ?)`,
      now + BULK_LOOKAHEAD_MS,
      window,
    )?.n ?? 0,
  );
  return window - ready;
}
