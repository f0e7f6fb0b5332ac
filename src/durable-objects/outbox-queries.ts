/** The outbox's message rows: writing one, reading one back, retiring one, and finding wake-ups. */
import { normalisePhone } from "../domain/phone";
import type { QuietHours } from "../domain/quiet-hours";
import { STAGED_TTL_MS } from "./batch-outbox";
import type { DispatcherMeta } from "./dispatcher-meta";
import { type OutboxMessage, outboxMessageSchema, type PendingMessage } from "./dispatcher-types";
import { keptOutcomesRetryAt } from "./kept-outcomes";
import { BULK_LOOKAHEAD_MS } from "./outbox-flush";
import { LANE_BULK, LANE_TRANSACTIONAL } from "./outbox-schema";
import { heldUntil } from "./quiet-holds";
import { fairTag } from "./releases";
import { firstRow, type Row } from "./sql-rows";

function laneOf(message: OutboxMessage): number {
  return message.lane === "bulk" ? LANE_BULK : LANE_TRANSACTIONAL;
}

/** The country whose quiet hours a message waits out: marketing (in the bulk lane) by SMS only. */
function quietGroupOf(message: OutboxMessage): string | null {
  if (message.kind !== "marketing" || message.lane !== "bulk" || message.channel !== "sms") {
    return null;
  }
  // The recipient is E.164 already, so no home country is needed to read it.
  const phone = message.country === undefined ? normalisePhone(message.recipient, "") : undefined;
  return message.country ?? (phone?.ok ? phone.country : null);
}

/** Whether a message needs the tenant's quiet hours to be accepted: marketing by SMS does. */
export function waitsOutQuietHours(message: OutboxMessage): boolean {
  return quietGroupOf(message) !== null;
}

/**
 * Appends a message; a pending one that `quiet` (the tenant's quiet hours) covers when it would go
 * (its send time, or now) is held until the window ends. Returns until when it is held, or null.
 */
export function insertMessage(
  sql: SqlStorage,
  meta: DispatcherMeta,
  message: OutboxMessage,
  state: "pending" | "staged",
  now: number,
  quiet: QuietHours | null = null,
): number | null {
  const quietGroup = quietGroupOf(message);
  const goes = Math.max(message.sendAt, now);
  const held = state === "pending" ? heldUntil(quiet, quietGroup, goes) : null;
  // A batch upload may be retried with the same ids: a row staged already keeps its place and
  // only counts as freshly staged, and one past staging is left as it is.
  const restage =
    state === "staged"
      ? "ON CONFLICT (id) DO UPDATE SET staged_at = excluded.staged_at WHERE outbox.state = 'staged'"
      : "";
  sql.exec(
    `INSERT INTO outbox
       (id, recipient, send_at, vtag, lane, batch_id, state, staged_at, quiet_group, held_until,
        message)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${restage}`,
    message.id,
    message.recipient,
    message.sendAt,
    fairTag(sql, meta, message.recipient),
    laneOf(message),
    message.batchId,
    held === null ? state : "held",
    state === "staged" ? now : null,
    quietGroup,
    held,
    JSON.stringify(message),
  );
  if (quietGroup !== null && state === "pending") {
    meta.recheckQuietHours();
  }
  return held;
}

/** A message that is accepted but not yet in the D1 send log, or null. */
export function unloggedMessage(sql: SqlStorage, id: string): PendingMessage | null {
  const row = firstRow(
    sql,
    "SELECT message, state, held_until FROM outbox WHERE id = ? AND logged = 0 AND state <> 'staged'",
    id,
  );
  return row
    ? {
        message: outboxMessageSchema.parse(JSON.parse(String(row.message))),
        canceled: row.state === "canceled",
        heldUntil: row.state === "held" ? Number(row.held_until) : null,
      }
    : null;
}

/** The message's `state` and whether it is `logged` (in D1), or undefined when it is not here. */
export function messageState(sql: SqlStorage, id: string): Row | undefined {
  return firstRow(sql, "SELECT state, logged FROM outbox WHERE id = ?", id);
}

/** Cancels a message not yet in D1: the flush writes it as canceled. */
export function cancelUnloggedMessage(sql: SqlStorage, id: string): void {
  sql.exec("UPDATE outbox SET state = 'canceled' WHERE id = ?", id);
}

export function deleteMessage(sql: SqlStorage, id: string): void {
  sql.exec("DELETE FROM outbox WHERE id = ?", id);
}

/**
 * When the alarm must next run, or undefined when nothing waits: the one answer, from the outbox
 * and `meta`, that a run ends with. Anything not yet in the D1 send log that must be (every
 * transactional message, every canceled one) makes it `logBy`; `moreToLog` (the last flush was
 * cut short) makes it now. `nextTick` is when the rate allows the next release, if the rate is
 * what stopped this one. Wake-ups that only a call knows of (a send result freeing a recipient's
 * next message, a new send rate) come from the call itself.
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
  },
): number | undefined {
  const earliest = (query: string, ...bindings: SqlStorageValue[]) => {
    const at = firstRow(sql, query, ...bindings)?.at;
    return at === null || at === undefined ? undefined : Number(at);
  };
  const oldestStage = earliest("SELECT MIN(staged_at) AS at FROM outbox WHERE state = 'staged'");
  const bulkUnlogged = earliest(
    `SELECT MIN(send_at) AS at FROM outbox INDEXED BY outbox_unlogged_bulk
     WHERE logged = 0 AND lane = ${LANE_BULK} AND state = 'pending'`,
  );
  const oldestRelease = earliest(
    "SELECT MIN(released_at) AS at FROM outbox INDEXED BY outbox_released WHERE state = 'released'",
  );
  // Marketing held for quiet hours goes when its window ends.
  const heldUntil = earliest(
    "SELECT MIN(held_until) AS at FROM outbox INDEXED BY outbox_held WHERE state = 'held'",
  );
  const unlogged =
    firstRow(
      sql,
      `SELECT 1 AS at FROM outbox INDEXED BY outbox_unlogged_transactional
       WHERE logged = 0 AND lane = ${LANE_TRANSACTIONAL} LIMIT 1`,
    ) ??
    firstRow(
      sql,
      `SELECT 1 AS at FROM outbox WHERE state = 'canceled' AND logged = 0 AND lane = ${LANE_BULK}
       LIMIT 1`,
    );
  const candidates = [
    due.moreToLog || firstRow(sql, "SELECT 1 AS at FROM batches LIMIT 1") ? now : undefined,
    unlogged ? due.logBy : undefined,
    // Bulk messages not logged yet because they are not due: log them a little ahead.
    bulkUnlogged === undefined ? undefined : bulkUnlogged - BULK_LOOKAHEAD_MS,
    due.nextTick,
    // Messages waiting behind a recipient's earlier one are woken by its send result instead.
    earliest(
      "SELECT MIN(send_at) AS at FROM outbox WHERE state = 'pending' AND logged = 1 AND send_at > ?",
      now,
    ),
    heldUntil,
    meta.nextSweep(sql) ?? undefined,
    oldestRelease === undefined ? undefined : oldestRelease + due.releaseTimeoutMs,
    oldestStage === undefined ? undefined : oldestStage + STAGED_TTL_MS,
    // Send outcomes a consumer could not record in D1 are tried again with backoff.
    keptOutcomesRetryAt(sql, now) ?? undefined,
  ].filter((at): at is number => at !== undefined);
  return candidates.length === 0 ? undefined : Math.max(now, Math.min(...candidates));
}
