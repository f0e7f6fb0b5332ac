/** When the dispatcher's alarm must next run, from what its outbox holds. */
import { firstRow } from "../../lib/sql-rows";
import { STAGED_TTL_MS } from "./batch-outbox";
import { OLDEST_KEPT_SQL, retryAfterKept } from "./kept-outcomes";
import type { DispatcherMeta } from "./meta";
import { BULK_LOOKAHEAD_MS } from "./outbox-flush";
import { LANE_BULK, LANE_TRANSACTIONAL } from "./outbox-schema";
import { RELEASE_TICK_MS } from "./releases";

/**
 * When the alarm must next run, or undefined when nothing waits: the one answer, from the outbox
 * and `meta`, that a run ends with. Anything not yet in the D1 send log that must be (every
 * transactional message, every canceled one) makes it `logBy`; `moreToLog` (the last flush was
 * cut short) makes it now. `nextTick` is when the rate allows the next release, if the rate is
 * what stopped this one. Wake-ups that only a call knows of (a send result freeing a recipient's
 * next message, a new send rate) come from the call itself. The outbox is asked once, every
 * answer an index seek, since every alarm run ends here.
 */
export function nextAlarmAt(
  sql: SqlStorage,
  meta: DispatcherMeta,
  now: number,
  due: {
    moreToLog: boolean;
    logBy: number;
    nextTick: number | undefined;
    releaseTimeoutMs: number;
    /** How many bulk messages the flush keeps logged ahead (`bulkWindow`). */
    bulkWindow: number;
  },
): number | undefined {
  const found = firstRow(
    sql,
    `SELECT
       (SELECT MIN(staged_at) FROM outbox WHERE state = 'staged') AS oldest_stage,
       (SELECT MIN(send_at) FROM outbox INDEXED BY outbox_unlogged_bulk
        WHERE logged = 0 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at > ?1)
         AS bulk_ahead,
       EXISTS (SELECT 1 FROM outbox INDEXED BY outbox_unlogged_bulk
               WHERE logged = 0 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at <= ?1)
         AS bulk_due,
       (SELECT COUNT(*) FROM (
          SELECT 1 FROM outbox INDEXED BY outbox_bulk_logged
          WHERE logged = 1 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at <= ?1
          LIMIT ?3)) AS bulk_ready,
       (SELECT MIN(released_at) FROM outbox INDEXED BY outbox_released
        WHERE state = 'released') AS oldest_release,
       (SELECT MIN(held_until) FROM outbox INDEXED BY outbox_held WHERE state = 'held')
         AS held_until,
       EXISTS (SELECT 1 FROM outbox INDEXED BY outbox_unlogged_transactional
               WHERE logged = 0 AND lane = ${LANE_TRANSACTIONAL})
         OR EXISTS (SELECT 1 FROM outbox
                    WHERE state = 'canceled' AND logged = 0 AND lane = ${LANE_BULK}) AS unlogged,
       EXISTS (SELECT 1 FROM batches) AS batches,
       (SELECT MIN(send_at) FROM outbox WHERE state = 'pending' AND logged = 1 AND send_at > ?2)
         AS next_pending,
       ${OLDEST_KEPT_SQL} AS oldest_kept`,
    now + BULK_LOOKAHEAD_MS,
    now,
    due.bulkWindow,
  );
  const column = (name: string) => {
    const value = found?.[name];
    return value === null || value === undefined ? undefined : Number(value);
  };
  const oldestStage = column("oldest_stage");
  const bulkAhead = column("bulk_ahead");
  const oldestRelease = column("oldest_release");
  const candidates = [
    due.moreToLog || column("batches") === 1 ? now : undefined,
    column("unlogged") === 1 ? due.logBy : undefined,
    // Bulk messages not logged yet because they are not due: log them a little ahead.
    bulkAhead === undefined ? undefined : bulkAhead - BULK_LOOKAHEAD_MS,
    // Due ones wait for room in the bulk window: while it is full, releases are what make room,
    // and they come with the rate's next tick or a send result. Where there is room (releases
    // just made some, or a quiet-hours hold ended after the flush), the next tick logs them;
    // waking at once had the alarm spin through a whole drain, and for ever while paused.
    column("bulk_due") === 1 && (column("bulk_ready") ?? 0) < due.bulkWindow
      ? now + RELEASE_TICK_MS
      : undefined,
    due.nextTick,
    // Messages waiting behind a recipient's earlier one are woken by its send result instead.
    column("next_pending"),
    // Marketing held for quiet hours goes when its window ends.
    column("held_until"),
    meta.nextSweep(sql) ?? undefined,
    oldestRelease === undefined ? undefined : oldestRelease + due.releaseTimeoutMs,
    oldestStage === undefined ? undefined : oldestStage + STAGED_TTL_MS,
    // Send outcomes a consumer could not record in D1 are tried again with backoff.
    retryAfterKept(column("oldest_kept") ?? null, now) ?? undefined,
  ].filter((at): at is number => at !== undefined);
  return candidates.length === 0 ? undefined : Math.max(now, Math.min(...candidates));
}
