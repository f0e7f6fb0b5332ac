/**
 * Releasing due messages to the dispatch queue: at the tenant's send rate (a token bucket refilled
 * each tick), the transactional lane first and the bulk lane with what is left, and within a lane
 * in start-time fair queuing order over recipients.
 *
 * A message's fair-queuing tag is one past the later of the virtual clock (the tag last released)
 * and its recipient's previous tag. Releasing in tag order serves recipients round-robin, so a
 * recipient with a long line cannot hold up the others, a newcomer cannot jump the queue, and as
 * many recipients as possible have a message in flight (each may have only one, which is what
 * bounds throughput once few recipients are left).
 *
 * Marketing waits out the tenant's quiet hours in its recipient's country, looked at here as well
 * as when it is accepted: a batch accepted at 20:50 may still be draining at 21:00, and the
 * setting may change while messages wait. Rows are checked per country, not per row, and only
 * when a window may have opened or closed (once a minute) or new marketing arrived; held rows
 * leave the lane's index, so a held 100k batch costs the release query nothing.
 */
import { releaseTimeAfterQuietHours } from "../../domain/quiet-hours";
import { refill } from "../../domain/token-bucket";
import { allRows, firstRow, type Row } from "../../lib/sql-rows";
import type { DispatcherMeta } from "./meta";
import { LANE_BULK, LANE_TRANSACTIONAL } from "./outbox-schema";
import { showHolds } from "./quiet-holds";

/** Releases happen in ticks; the bucket holds a little more than one tick, so a late alarm loses no tokens. */
export const RELEASE_TICK_MS = 100;
const BURST_SECONDS = 0.25;
/** The bulk queue's backlog (released, no result yet) past which the bulk lane waits; see releaseDue. */
const BULK_IN_FLIGHT_SECONDS = 1;
const BULK_IN_FLIGHT_MIN = 200;

/**
 * The tag of a message accepted now, as an SQL expression for the outbox INSERT, so that reading
 * the recipient's last tag and writing the row are one statement. Its parameters, in order: the
 * virtual clock (`meta.virtualNow`) and the recipient.
 */
export const FAIR_TAG_SQL =
  "MAX(?, IFNULL((SELECT MAX(vtag) FROM outbox WHERE recipient = ?), 0)) + 1";

/**
 * One tick's releases, marked `released` in the outbox. `ids` are for the queue; undefined when
 * the rate allowed none this tick (or is 0, or the tenant is suspended: paused until configure()
 * wakes the dispatcher).
 * `smsFallbacks`: those of them released as their SMS fallback. `rateLimited` says whether the
 * rate, not a lack of work, stopped the tick.
 */
export interface Release {
  ids: string[] | undefined;
  smsFallbacks: ReadonlySet<string>;
  /** Those of `ids` from the bulk lane: they go to the bulk dispatch queue. */
  bulk: ReadonlySet<string>;
  rateLimited: boolean;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Releases what is due, at the tenant's rate: the transactional lane first, then the bulk lane
 * with what is left. Within a lane, in fair-queuing order: for each recipient only the head of
 * its line, and only when nothing to that recipient is still waiting for its send result.
 */
export async function releaseDue(
  sql: SqlStorage,
  db: D1Database,
  logs: D1Database[],
  meta: DispatcherMeta,
  now: number,
): Promise<Release> {
  const rate = await meta.sendRate(sql, db);
  // A suspended tenant's messages wait like a paused one's, until configure() resumes it.
  if (rate <= 0 || (await meta.suspended(sql, db))) {
    return { ids: undefined, smsFallbacks: NONE, bulk: NONE, rateLimited: false };
  }
  await holdForQuietHours(sql, db, logs, meta, now);
  const limits = { rate, burst: Math.max(1, rate * BURST_SECONDS) };
  const bucket = refill(meta.bucket(sql), limits, now);
  const budget = Math.floor(bucket.tokens);
  if (budget < 1) {
    meta.setBucket(sql, bucket);
    return { ids: undefined, smsFallbacks: NONE, bulk: NONE, rateLimited: true };
  }
  const due = dueInLane(sql, LANE_TRANSACTIONAL, now, budget);
  const bulkBudget = Math.min(budget - due.length, bulkInFlightRoom(sql, rate));
  const bulkDue = bulkBudget > 0 ? dueInLane(sql, LANE_BULK, now, bulkBudget) : [];
  due.push(...bulkDue);
  meta.setBucket(sql, { tokens: bucket.tokens - due.length, at: now });
  let lastTag = meta.virtualNow(sql);
  for (const row of due) {
    lastTag = Math.max(lastTag, Number(row.vtag));
  }
  const ids = due.map((row) => String(row.id));
  if (ids.length > 0) {
    sql.exec(
      `UPDATE outbox SET state = 'released', released_at = ?
       WHERE id IN (SELECT value FROM json_each(?))`,
      now,
      JSON.stringify(ids),
    );
  }
  if (lastTag > meta.virtualNow(sql)) {
    meta.advanceVirtualClock(sql, lastTag);
  }
  const smsFallbacks = new Set(
    due.filter((row) => row.sms_fallback === 1).map((row) => String(row.id)),
  );
  const bulk = new Set(bulkDue.map((row) => String(row.id)));
  return { ids, smsFallbacks, bulk, rateLimited: due.length === budget };
}

/**
 * How many more bulk messages may be put on the bulk queue now. Released bulk messages not yet
 * reported are that queue's backlog (this object's part of it); bulk stops while it holds more
 * than BULK_IN_FLIGHT_SECONDS of the rate, so consumers that fall behind slow the batch down
 * instead of piling up releases that would time out and go again. Transactional messages have
 * their own queue (alarm-loop.ts), so they neither wait behind this backlog nor count in it: a
 * burst of codes in flight does not stop a batch.
 */
function bulkInFlightRoom(sql: SqlStorage, rate: number): number {
  const cap = Math.max(BULK_IN_FLIGHT_MIN, Math.ceil(rate * BULK_IN_FLIGHT_SECONDS));
  const inFlight = Number(
    firstRow(
      sql,
      `SELECT COUNT(*) AS n FROM (
         SELECT 1 FROM outbox INDEXED BY outbox_released
         WHERE state = 'released' AND lane = ? LIMIT ?)`,
      LANE_BULK,
      cap,
    )?.n ?? 0,
  );
  return cap - inFlight;
}

function dueInLane(sql: SqlStorage, lane: number, now: number, limit: number): Row[] {
  return allRows(
    sql,
    // Walking the fair-queuing index in order lets the scan stop at the limit; left to itself,
    // SQLite tests every due message and sorts them all, on every tick.
    `SELECT o.id, o.vtag, o.sms_fallback FROM outbox o INDEXED BY outbox_lane_fair
     WHERE o.state = 'pending' AND o.lane = ? AND o.logged = 1 AND o.send_at <= ?
       AND NOT EXISTS (
         SELECT 1 FROM outbox p
         WHERE p.recipient = o.recipient AND p.seq <> o.seq
           AND (p.state = 'released'
             OR (p.state = 'pending' AND p.lane = o.lane AND (p.send_at < o.send_at
               OR (p.send_at = o.send_at AND p.seq < o.seq)))))
     ORDER BY o.vtag, o.seq LIMIT ?`,
    lane,
    now,
    limit,
  );
}

/** Rows held or put back per alarm run, so that a 100k batch does not stall the object. */
const HOLD_PER_RUN = 2000;

/**
 * Holds the pending marketing of every country now inside the tenant's quiet hours until the
 * window ends there (`held_until`, which the alarm wakes for), and puts back what is held once
 * its window has ended, when `meta` says a window may have changed; then shows in the send log
 * what is held and what is no longer, before anything is released.
 */
export async function holdForQuietHours(
  sql: SqlStorage,
  db: D1Database,
  logs: D1Database[],
  meta: DispatcherMeta,
  now: number,
): Promise<void> {
  if (meta.quietCheckDue(now)) {
    await holdAndPutBack(sql, db, meta, now);
  }
  await showHolds(sql, logs, now);
}

async function holdAndPutBack(
  sql: SqlStorage,
  db: D1Database,
  meta: DispatcherMeta,
  now: number,
): Promise<void> {
  meta.quietChecked(now);
  // Back to pending; still quiet (a clock change moved the end), they are held again below.
  let more = putBack(sql, now);
  const quiet = await meta.quietHours(sql, db);
  if (quiet) {
    for (const country of countriesWithMarketing(sql)) {
      const opens = releaseTimeAfterQuietHours(now, quiet, country);
      if (opens > now) {
        more = hold(sql, country, opens) || more;
      }
    }
  }
  if (more) {
    meta.recheckQuietHours();
  }
}

/** Puts back up to HOLD_PER_RUN held rows whose window has ended; whether more are waiting. */
function putBack(sql: SqlStorage, now: number): boolean {
  sql.exec(
    `UPDATE outbox SET state = 'pending', held_until = NULL WHERE seq IN (
       SELECT seq FROM outbox INDEXED BY outbox_held WHERE state = 'held' AND held_until <= ?
       LIMIT ${HOLD_PER_RUN})`,
    now,
  );
  return (
    firstRow(
      sql,
      "SELECT 1 AS found FROM outbox INDEXED BY outbox_held WHERE state = 'held' AND held_until <= ?",
      now,
    ) !== undefined
  );
}

/**
 * Holds a country's marketing due before `opens`: at once what the send log has (all that could
 * be released now, the bulk lane's short window), the rest up to HOLD_PER_RUN rows a run, as it
 * cannot be released before the flush logs it. Returns whether some is still to be held.
 */
function hold(sql: SqlStorage, country: string, opens: number): boolean {
  sql.exec(
    `UPDATE outbox INDEXED BY outbox_bulk_logged SET state = 'held', held_until = ?
     WHERE logged = 1 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at < ?
       AND quiet_group = ?`,
    opens,
    opens,
    country,
  );
  const waiting = `SELECT seq FROM outbox INDEXED BY outbox_quiet
    WHERE state = 'pending' AND quiet_group = ? AND send_at < ?`;
  sql.exec(
    `UPDATE outbox SET state = 'held', held_until = ? WHERE seq IN (${waiting} LIMIT ${HOLD_PER_RUN})`,
    opens,
    country,
    opens,
  );
  return firstRow(sql, `${waiting} LIMIT 1`, country, opens) !== undefined;
}

/** The quiet hours changed: everything held goes back to pending, to be looked at afresh. */
export function releaseHeld(sql: SqlStorage, meta: DispatcherMeta): void {
  sql.exec("UPDATE outbox SET state = 'pending', held_until = NULL WHERE state = 'held'");
  meta.recheckQuietHours();
}

/** The distinct countries of pending marketing, one index seek each rather than a scan. */
function countriesWithMarketing(sql: SqlStorage): string[] {
  return allRows(
    sql,
    `WITH RECURSIVE countries (country) AS (
       SELECT MIN(quiet_group) FROM outbox INDEXED BY outbox_quiet
       WHERE state = 'pending' AND quiet_group IS NOT NULL
       UNION ALL
       SELECT (SELECT MIN(quiet_group) FROM outbox INDEXED BY outbox_quiet
               WHERE state = 'pending' AND quiet_group > countries.country)
       FROM countries WHERE country IS NOT NULL)
     SELECT country FROM countries WHERE country IS NOT NULL`,
  ).map((row) => String(row.country));
}
