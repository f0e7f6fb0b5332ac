/** The outbox's message rows: writing one, reading one back, retiring one. */

import {
  type OutboxMessage,
  outboxMessageSchema,
  type PendingMessage,
} from "../../delivery/dispatcher-types";
import { countryOfE164 } from "../../domain/phone";
import type { QuietHours } from "../../domain/quiet-hours";
import { allRows, firstRow, type Row } from "../../lib/sql-rows";
import type { DispatcherMeta } from "./meta";
import { LANE_BULK, LANE_TRANSACTIONAL } from "./outbox-schema";
import { heldUntil } from "./quiet-holds";
import { FAIR_TAG_SQL } from "./releases";

function laneOf(message: OutboxMessage): number {
  return message.lane === "bulk" ? LANE_BULK : LANE_TRANSACTIONAL;
}

/** The country whose quiet hours a message waits out: marketing (in the bulk lane) by SMS only. */
function quietGroupOf(message: OutboxMessage): string | null {
  if (message.kind !== "marketing" || message.lane !== "bulk" || message.channel !== "sms") {
    return null;
  }
  return message.country ?? countryOfE164(message.recipient);
}

/** Whether a message needs the tenant's quiet hours to be accepted: marketing by SMS does. */
export function waitsOutQuietHours(message: OutboxMessage): boolean {
  return quietGroupOf(message) !== null;
}

/**
 * Appends an accepted message; one that `quiet` (the tenant's quiet hours) covers when it would go
 * (its send time, or now) is held until the window ends. Returns until when it is held, or null.
 */
export function insertMessage(
  sql: SqlStorage,
  meta: DispatcherMeta,
  message: OutboxMessage,
  now: number,
  quiet: QuietHours | null = null,
): number | null {
  const quietGroup = quietGroupOf(message);
  const held = heldUntil(quiet, quietGroup, Math.max(message.sendAt, now));
  sql.exec(
    `INSERT INTO outbox
       (id, recipient, send_at, vtag, lane, batch_id, state, quiet_group, held_until, message)
     VALUES (?, ?, ?, ${FAIR_TAG_SQL}, ?, ?, ?, ?, ?, ?)`,
    message.id,
    message.recipient,
    message.sendAt,
    meta.virtualNow(sql),
    message.recipient,
    laneOf(message),
    message.batchId,
    held === null ? "pending" : "held",
    quietGroup,
    held,
    JSON.stringify(message),
  );
  if (quietGroup !== null) {
    meta.recheckQuietHours();
  }
  return held;
}

/**
 * Takes back a message the D1 send log holds, to be released again as `message` (an SMS fallback):
 * pending, in line behind its recipient's earlier messages, with a fair-queuing tag of its own.
 * A row still here from its first release (the WeChat send's) becomes this one; one taken back
 * already (same recipient) is left as it is, wherever it got to, so a hand-over that comes twice
 * keeps one.
 */
export function takeBackLogged(
  sql: SqlStorage,
  meta: DispatcherMeta,
  message: OutboxMessage,
): void {
  const quietGroup = quietGroupOf(message);
  sql.exec(
    `INSERT INTO outbox
       (id, recipient, send_at, vtag, lane, batch_id, state, logged, quiet_group, message,
        sms_fallback)
     VALUES (?, ?, ?, ${FAIR_TAG_SQL}, ?, ?, 'pending', 1, ?, ?, 1)
     ON CONFLICT (id) DO UPDATE SET recipient = excluded.recipient, send_at = excluded.send_at,
       vtag = excluded.vtag, lane = excluded.lane, batch_id = excluded.batch_id,
       state = 'pending', logged = 1, released_at = NULL, quiet_group = excluded.quiet_group,
       held_until = NULL, logged_held = 0, message = excluded.message, sms_fallback = 1
     WHERE outbox.recipient <> excluded.recipient`,
    message.id,
    message.recipient,
    message.sendAt,
    meta.virtualNow(sql),
    message.recipient,
    laneOf(message),
    message.batchId,
    quietGroup,
    JSON.stringify(message),
  );
  if (quietGroup !== null) {
    meta.recheckQuietHours();
  }
}

/**
 * Rows per INSERT when staging: each statement takes its rows as one JSON parameter, which stays
 * well under SQLite's 2 MB limit on a value (a row is about a kilobyte).
 */
const STAGED_ROWS_PER_STATEMENT = 500;

/**
 * Stages a part of a batch, invisible until its commit, a few hundred rows per statement: a 100k
 * batch is two hundred statements, not a hundred thousand. Each row gets the fair-queuing tag it
 * would get inserted alone, in order. An upload may be retried with the same ids: a row staged
 * already keeps its place and its tag and only counts as freshly staged, and one past staging is
 * left as it is.
 */
export function stageMessages(
  sql: SqlStorage,
  meta: DispatcherMeta,
  messages: readonly OutboxMessage[],
  now: number,
): void {
  for (let i = 0; i < messages.length; i += STAGED_ROWS_PER_STATEMENT) {
    const chunk = messages.slice(i, i + STAGED_ROWS_PER_STATEMENT);
    const lastTag = new Map(
      allRows(
        sql,
        `SELECT recipient, MAX(vtag) AS tag FROM outbox INDEXED BY outbox_recipient_tag
         WHERE recipient IN (SELECT value FROM json_each(?)) GROUP BY recipient`,
        JSON.stringify([...new Set(chunk.map((m) => m.recipient))]),
      ).map((row) => [String(row.recipient), Number(row.tag)]),
    );
    // A row already here keeps its tag, so the recipient's next row follows that one.
    const present = new Set(
      allRows(
        sql,
        "SELECT id FROM outbox WHERE id IN (SELECT value FROM json_each(?))",
        JSON.stringify(chunk.map((m) => m.id)),
      ).map((row) => String(row.id)),
    );
    const rows = chunk.map((message) => {
      const tag = Math.max(meta.virtualNow(sql), lastTag.get(message.recipient) ?? 0) + 1;
      if (!present.has(message.id)) {
        lastTag.set(message.recipient, tag);
        present.add(message.id);
      }
      return [
        message.id,
        message.recipient,
        message.sendAt,
        tag,
        laneOf(message),
        message.batchId,
        quietGroupOf(message),
        JSON.stringify(message),
      ];
    });
    sql.exec(
      `INSERT INTO outbox
         (id, recipient, send_at, vtag, lane, batch_id, quiet_group, message, state, staged_at)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
         value ->> 6, value ->> 7, 'staged', ?
       FROM json_each(?) WHERE true
       ON CONFLICT (id) DO UPDATE SET staged_at = excluded.staged_at WHERE outbox.state = 'staged'`,
      now,
      JSON.stringify(rows),
    );
  }
}

/**
 * A message as its outbox row holds it, read on every flush. Only this object writes those rows,
 * each the JSON of a typed OutboxMessage our own services built, so reading one back needs no
 * check (it was a zod parse per message on every run): a row written before a field existed gets
 * the schema's default for it.
 */
export function storedMessage(text: string): OutboxMessage {
  const message = JSON.parse(text) as OutboxMessage;
  message.templateParams ??= null;
  message.payload ??= null;
  return message;
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
 * Retires released messages whose send results are in: one statement for a consumer's whole
 * report. Only released ones: a row taken back for its SMS fallback (`takeBackLogged`) before its
 * WeChat send was reported waits for a result of its own.
 */
export function deleteMessages(sql: SqlStorage, ids: readonly string[]): void {
  if (ids.length > 0) {
    sql.exec(
      "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?)) AND state = 'released'",
      JSON.stringify(ids),
    );
  }
}
