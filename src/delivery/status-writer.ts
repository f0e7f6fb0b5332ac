/**
 * The one writer of a message's status: every change of it (a consumer's claim and its outcome,
 * a dead letter, a carrier's or WeChat's receipt, the receipt deadline, a cancel, the SMS
 * fallback) is written here.
 *
 * Guarantees: each write moves a status only as the status machine allows (domain/status-machine:
 * its guard is `status IN` the statuses the table lets reach the new one, narrowed where a write
 * says so), so duplicate and out-of-order events (queue redelivery, late receipts) change nothing;
 * the webhook events a change announces (`message.sent|delivered|undelivered|failed|expired`)
 * are rows of the change's own D1 batch, written only where the change happened
 * (delivery/status-events.ts), and their queue jobs follow the batch. Costs no D1 round trip per
 * message: each call is one batch for all its messages (a read before it where the events need
 * the message and the caller does not have it: a dead letter, an expiry sweep with subscribers).
 * One exception to events in the batch: a held receipt that the hold itself applies (its send was
 * recorded between the caller's look-up and the hold) names no message the caller knew, so its
 * event follows the batch, as D1 returns the message.
 * Never: moves a status back, or writes a move the table does not list.
 */
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { type Database, database } from "../db/client";
import {
  type AttemptChange,
  type AttemptRecord,
  type MessageRow,
  type ReceiptChange,
  rowStatements,
  statusIn,
} from "../db/message-log";
import { messageAttempts, messages } from "../db/schema";
import { guardFor } from "../domain/status-machine";
import { isTemplateMessage, type SmsFallback } from "../domain/wechat-payload";
import {
  changeEventInput,
  emitMessageEvents,
  eventChange,
  messageEvent,
  SENT_MESSAGE_SQL,
  type SentMessage,
  type SentMessageRow,
  sentMessageOf,
} from "./message-events";
import { heldReceiptStatements, holdStatements, receiptStatements } from "./receipt-statements";
import { EventRows, queueNewDeliveries, REASON_FROM_ROW } from "./status-events";

const CLAIMABLE = guardFor("sending");

/**
 * Takes messages for one provider call each. A message is taken when it is waiting to be sent, or
 * when its previous claim lapsed (its consumer died or it is waiting out a retry); at most one
 * holder at a time. Returns the rows taken, with their new attempt numbers.
 */
export async function claimForSending(
  db: Database,
  ids: string[],
  claimId: string,
  now: number,
  claimMs: number,
): Promise<MessageRow[]> {
  const claimed: MessageRow[] = [];
  // D1 binds at most 100 parameters per query; the claim itself uses a handful.
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await db
      .update(messages)
      .set({
        // A WeChat message falling back to SMS after its template ended undelivered stays `sent`
        // while the SMS goes (statuses only move forward); see fallBackToSms.
        status: sql`CASE WHEN ${messages.status} = 'sent' THEN 'sent' ELSE 'sending' END`,
        claimId,
        claimedUntil: now + claimMs,
        attemptCount: sql`${messages.attemptCount} + 1`,
        updatedAt: now,
      })
      .where(
        and(
          inArray(messages.id, ids.slice(i, i + 90)),
          or(
            inArray(messages.status, CLAIMABLE),
            // Taken again, not moved: a lapsed claim, and a fallback SMS waiting to be sent.
            and(eq(messages.status, "sending"), lt(messages.claimedUntil, now)),
            and(
              eq(messages.status, "sent"),
              eq(messages.channel, "sms"),
              isNull(messages.provider),
              lt(messages.claimedUntil, now),
            ),
          ),
        ),
      )
      .returning();
    claimed.push(...rows);
  }
  return claimed;
}

/** One attempt's outcome for its message, as the consumer settled it (queues/attempt-outcomes). */
export interface OutcomeRecord {
  message: MessageRow;
  attempt: AttemptRecord & { attemptId: string; claimId: string };
  change: AttemptChange;
}

// Each change applies only while the attempt's claim still holds the message. A claim holds a
// message that is `sending`, or a fallback SMS that waits as `sent`.
const HELD = "WHERE id = ? AND claim_id = ? AND status IN ('sending', 'sent')";
const MARK_RETRY = `UPDATE messages SET status_reason = ?, claim_id = NULL, claimed_until = 0,
  updated_at = ? ${HELD}`;
const MARK_WAITING = `UPDATE messages SET status_reason = ?, attempt_count = attempt_count - 1,
  claim_id = NULL, claimed_until = 0, updated_at = ? ${HELD}`;
const MARK_FAILED = `UPDATE messages SET status = 'failed', status_reason = ?, completed_at = ?,
  claim_id = NULL, claimed_until = 0, updated_at = ?
  WHERE id = ? AND claim_id = ? AND ${statusIn(guardFor("failed", ["sending", "sent"]))}`;
// A carrier's receipt can beat our own record of the send (Twilio's status callbacks do): then
// the message is already delivered or undelivered (held receipts, applied in the same batch,
// finish it), and only the send's details are filled in.
const RECORD_SENT = (tuples: string) => `UPDATE messages SET
  status = CASE status WHEN 'sending' THEN 'sent' ELSE status END,
  status_reason = CASE status WHEN 'sending' THEN NULL ELSE status_reason END,
  provider = v.column3, provider_message_id = v.column4, sent_at = v.column5,
  claim_id = NULL, claimed_until = 0, updated_at = v.column5
  FROM (VALUES ${tuples}) AS v
  WHERE messages.id = v.column1 AND messages.claim_id = v.column2
    AND messages.${statusIn([...guardFor("sent"), "sent", "delivered", "undelivered"])}`;

/**
 * Records attempts (each replacing the row `startAttempts` wrote for it before its call) and
 * applies their outcomes, with their events, all in one D1 batch: `message.sent` or
 * `message.failed`, and the `message.delivered|undelivered` of a receipt that beat the record.
 * A WeChat customer-service message WeChat took is delivered at once (it has no receipt; its
 * webhooks hear `message.sent`). Safe to run again with the same records.
 */
export async function recordAttempts(env: Env, records: readonly OutcomeRecord[]): Promise<void> {
  if (records.length === 0) {
    return;
  }
  const d1 = env.DB;
  const events = await EventRows.load(
    d1,
    records.map((r) => r.message.tenantId),
    Date.now(),
  );
  for (const { message, attempt, change } of records) {
    await plan(events, message, attempt, change);
  }
  const inserts = rowStatements(
    d1,
    records
      .filter(({ change }) => change.kind !== "wait")
      .map(({ attempt: a }) => [
        a.attemptId,
        a.messageId,
        a.tenantId,
        a.attempt,
        a.provider,
        a.outcome,
        a.reason,
        a.providerMessageId,
        a.latencyMs,
        a.createdAt,
      ]),
    {},
    (tuples) => `INSERT INTO message_attempts (id, message_id, tenant_id, attempt,
      provider, outcome, reason, provider_message_id, latency_ms, created_at) VALUES ${tuples}
      ON CONFLICT (message_id, attempt) DO UPDATE SET provider = excluded.provider,
        outcome = excluded.outcome, reason = excluded.reason,
        provider_message_id = excluded.provider_message_id, latency_ms = excluded.latency_ms,
        created_at = excluded.created_at`,
  );
  const sends = records.flatMap(({ message, attempt, change }) =>
    change.kind === "sent" ? [{ message, attempt, change }] : [],
  );
  const sent = rowStatements(
    d1,
    sends.map(({ attempt, change }) => [
      attempt.messageId,
      attempt.claimId,
      change.provider,
      change.providerMessageId,
      attempt.createdAt,
    ]),
    {},
    RECORD_SENT,
  );
  const retry = d1.prepare(MARK_RETRY);
  const waiting = d1.prepare(MARK_WAITING);
  const failed = d1.prepare(MARK_FAILED);
  const others = records.flatMap(({ attempt, change }) => {
    const held = [attempt.messageId, attempt.claimId];
    const now = attempt.createdAt;
    switch (change.kind) {
      case "retry":
        return [retry.bind(change.reason, now, ...held)];
      case "wait":
        return [waiting.bind(change.reason, now, ...held)];
      case "failed":
        return [failed.bind(change.reason, now, now, ...held)];
      default:
        return [];
    }
  });
  const announced = events.statements(d1);
  const results = await d1.batch([
    ...inserts,
    ...sent,
    ...deliveredOnSend(d1, sends),
    ...heldReceiptStatements(
      d1,
      sends.map(({ attempt, change }) => ({
        messageId: attempt.messageId,
        tenantId: attempt.tenantId,
        provider: change.provider,
        providerMessageId: change.providerMessageId,
        at: attempt.createdAt,
      })),
    ),
    ...others,
    ...announced,
  ]);
  await queueNewDeliveries(env, results.slice(results.length - announced.length));
}

/** Plans the events of one outcome (see recordAttempts). */
async function plan(
  events: EventRows,
  message: MessageRow,
  attempt: OutcomeRecord["attempt"],
  change: AttemptChange,
): Promise<void> {
  const at = attempt.createdAt;
  if (change.kind === "failed") {
    const event = messageEvent(message, {
      status: "failed",
      reason: change.reason,
      // As the API shows it: the provider that took the message, so none for one that failed
      // (the one that refused it, if any, is in the message's attempts).
      provider: message.provider,
      providerMessageId: message.providerMessageId,
      at,
    });
    await events.add(event, { status: "failed", at });
    return;
  }
  if (change.kind !== "sent") {
    return;
  }
  const send = { provider: change.provider, providerMessageId: change.providerMessageId };
  await events.add(
    messageEvent(message, { status: "sent", reason: null, ...send, at, sentAt: at }),
    { providerMessageId: change.providerMessageId, sentAt: at },
  );
  if (message.channel === "wechat" && !isTemplateMessage(message)) {
    return; // delivered on send, with no event of its own (see deliveredOnSend)
  }
  // A receipt held for this send, if any, finishes the message in the same batch.
  for (const status of ["delivered", "undelivered"] as const) {
    await events.add(
      messageEvent(message, { status, reason: REASON_FROM_ROW, ...send, at, sentAt: at }),
      { status, at },
      true,
    );
  }
}

/**
 * A WeChat customer-service message WeChat accepted has reached the user (there is no receipt for
 * it, unlike a template message's job-finish event): it is delivered once recorded sent.
 */
function deliveredOnSend(
  d1: D1Database,
  sends: readonly (OutcomeRecord & { change: { kind: "sent" } })[],
): D1PreparedStatement[] {
  const rows = sends.flatMap(({ message, attempt, change }) =>
    message.channel === "wechat" && !isTemplateMessage(message)
      ? [[message.id, change.providerMessageId, attempt.createdAt]]
      : [],
  );
  return rowStatements(
    d1,
    rows,
    {},
    (tuples) => `UPDATE messages SET status = 'delivered', status_reason = NULL,
      completed_at = v.column3, sent_at = COALESCE(sent_at, v.column3), updated_at = v.column3
      FROM (VALUES ${tuples}) AS v
      WHERE messages.id = v.column1 AND messages.provider = 'wechat'
        AND messages.provider_message_id = v.column2
        AND messages.${statusIn(guardFor("delivered"))}`,
  );
}

/** What a dead letter leads to: `failed`, `held` by a live claim (until when), or `done`. */
export type DeadLetterOutcome =
  | { kind: "failed" }
  | { kind: "held"; until: number }
  | { kind: "done" };

// Not one that was sent: a send result is in, and its receipt (or its deadline) finishes it.
const DEAD_LETTER_FROM = guardFor("failed", ["scheduled", "queued", "sending"]);

/**
 * Ends a message that cannot be sent any more (dead-lettered) `failed`, with its
 * `message.failed`, unless it already moved on or a consumer holds it right now (that one may be
 * calling a provider, and records what it gets).
 */
export async function failUnlessDone(
  env: Env,
  id: string,
  reason: string,
  now: number,
): Promise<DeadLetterOutcome> {
  const db = database(env.DB);
  const row = await db.query.messages.findFirst({ where: eq(messages.id, id) });
  const before = deadLetterState(row, now);
  if (!row || before.kind !== "failed") {
    return before;
  }
  const events = await EventRows.load(env.DB, [row.tenantId], now);
  await events.add(
    messageEvent(row, {
      status: "failed",
      reason,
      provider: row.provider,
      providerMessageId: row.providerMessageId,
      at: now,
    }),
    { status: "failed", at: now },
  );
  const announced = events.statements(env.DB);
  const [failed, ...results] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE messages SET status = 'failed', status_reason = ?, completed_at = ?, updated_at = ?
       WHERE id = ? AND ${statusIn(DEAD_LETTER_FROM)}
         AND (status <> 'sending' OR claimed_until <= ?)`,
    ).bind(reason, now, now, id, now),
    ...announced,
  ]);
  if (failed && failed.meta.changes > 0) {
    await queueNewDeliveries(env, results);
    return { kind: "failed" };
  }
  // It moved between the read and the write: look again.
  return deadLetterState(await db.query.messages.findFirst({ where: eq(messages.id, id) }), now);
}

function deadLetterState(row: MessageRow | undefined, now: number): DeadLetterOutcome {
  if (row?.status === "sending" && row.claimedUntil > now) {
    return { kind: "held", until: row.claimedUntil };
  }
  return row && DEAD_LETTER_FROM.includes(row.status) ? { kind: "failed" } : { kind: "done" };
}

/** A receipt for a message found by its carrier id (or, for our own, by its send). */
export interface ReceiptToApply {
  message: SentMessage;
  /** The carrier's id for the message, where the receipt gives one. */
  providerMessageId: string | null;
  status: "delivered" | "undelivered";
  reason: string | null;
}

/**
 * Applies one tenant's receipts from one provider, with their events, in one D1 batch, each only
 * to a message whose send is recorded as that provider's (under the receipt's carrier id, where it
 * gives one): a receipt is the provider's word about its own send, not about whatever message it
 * names. A final status is never overwritten and `sent` only moves forward. The claim is left
 * alone: a receipt may arrive while the consumer that sent is still recording it. Says, receipt
 * by receipt, whether it changed its message (of two receipts for one message in one call, only
 * the first can).
 */
export async function applyReceipts(
  env: Env,
  owner: { tenantId: string; provider: string },
  receipts: readonly ReceiptToApply[],
  now: number,
): Promise<boolean[]> {
  const firstOf = new Map<string, number>();
  receipts.forEach((r, i) => {
    if (!firstOf.has(r.message.id)) {
      firstOf.set(r.message.id, i);
    }
  });
  const unique = [...firstOf.values()].map((i) => receipts[i]).filter((r) => r !== undefined);
  if (unique.length === 0) {
    return receipts.map(() => false);
  }
  const events = await EventRows.load(env.DB, [owner.tenantId], now);
  for (const r of unique) {
    const event = messageEvent(r.message, {
      status: r.status,
      reason: r.reason,
      provider: r.message.provider,
      providerMessageId: r.message.providerMessageId,
      at: now,
      sentAt: r.message.sentAt ?? now,
    });
    await events.add(event, { status: r.status, at: now });
  }
  const writes = receiptStatements(env.DB, owner, unique, now);
  const announced = events.statements(env.DB);
  const results = await env.DB.batch<{ id: string }>([...writes, ...announced]);
  await queueNewDeliveries(env, results.slice(writes.length));
  const changed = new Set(
    results.slice(0, writes.length).flatMap((r) => r.results.map((row) => row.id)),
  );
  return receipts.map((r, i) => firstOf.get(r.message.id) === i && changed.has(r.message.id));
}

/**
 * Holds receipts whose send was not found recorded, and in the same D1 batch applies those whose
 * send is recorded by now (see receipt-statements `holdStatements`); their events follow the
 * batch (the exception in this file's contract). Says, receipt by receipt, whether it changed its
 * message (as `applyReceipts` does) and whether its send was found recorded (a recorded one is no
 * longer held: applied, or its message had moved on).
 */
export async function holdReceipts(
  env: Env,
  owner: { tenantId: string; provider: string },
  receipts: { providerMessageId: string; status: "delivered" | "undelivered"; reason?: string }[],
  now: number,
): Promise<{ changed: boolean[]; recorded: boolean[] }> {
  if (receipts.length === 0) {
    return { changed: [], recorded: [] };
  }
  const [, applied, settled] = await env.DB.batch<ReceiptChange & { provider_message_id: string }>(
    holdStatements(env.DB, owner, receipts, now),
  );
  const rows = applied?.results ?? [];
  await emitMessageEvents(
    env,
    rows.map((row) => messageEvent(changeEventInput(row), eventChange(row, now))),
  );
  const changedIds = new Set(rows.map((row) => row.provider_message_id));
  const recordedIds = new Set((settled?.results ?? []).map((row) => row.provider_message_id));
  const firstOf = new Map<string, number>();
  receipts.forEach((r, i) => {
    if (!firstOf.has(r.providerMessageId)) {
      firstOf.set(r.providerMessageId, i);
    }
  });
  return {
    changed: receipts.map(
      (r, i) => firstOf.get(r.providerMessageId) === i && changedIds.has(r.providerMessageId),
    ),
    recorded: receipts.map((r) => recordedIds.has(r.providerMessageId)),
  };
}

/** Messages expired per sweep when their events need them read first. */
const EXPIRE_READ_LIMIT = 1000;

/**
 * Ends `expired` the tenant's sent messages whose receipt is overdue, with their
 * `message.expired`, and says when the next of its still-sent messages will be (null when none is
 * waiting). Where an endpoint takes `message.expired`, the overdue messages are read first (up
 * to EXPIRE_READ_LIMIT a sweep; the next sweep, due at once, takes the rest).
 */
export async function expireOverdue(
  env: Env,
  tenantId: string,
  now: number,
  deadlineMs: number,
): Promise<number | null> {
  const d1 = env.DB;
  const reason = `no delivery receipt within ${deadlineMs / 1000} s of sending`;
  const events = await EventRows.load(d1, [tenantId], now);
  let only = "";
  const bound: (string | number)[] = [reason, now, now, tenantId, now - deadlineMs];
  if (events.wants(tenantId, "message.expired")) {
    const { results } = await d1
      .prepare(
        `SELECT ${SENT_MESSAGE_SQL} FROM messages
         WHERE tenant_id = ? AND status = 'sent' AND sent_at <= ? LIMIT ${EXPIRE_READ_LIMIT}`,
      )
      .bind(tenantId, now - deadlineMs)
      .all<SentMessageRow>();
    for (const row of results) {
      const message = sentMessageOf(row);
      const event = messageEvent(message, {
        status: "expired",
        reason,
        provider: message.provider,
        providerMessageId: message.providerMessageId,
        at: now,
        sentAt: message.sentAt,
      });
      await events.add(event, { status: "expired", at: now });
    }
    only = "AND id IN (SELECT value FROM json_each(?))";
    bound.push(JSON.stringify(results.map((row) => row.id)));
  }
  const announced = events.statements(d1);
  const [, next, ...results] = await d1.batch<{ at: number | null }>([
    d1
      .prepare(
        `UPDATE messages SET status = 'expired', status_reason = ?, completed_at = ?, updated_at = ?
         WHERE tenant_id = ? AND ${statusIn(guardFor("expired"))} AND sent_at <= ? ${only}`,
      )
      .bind(...bound),
    d1
      .prepare("SELECT MIN(sent_at) AS at FROM messages WHERE tenant_id = ? AND status = 'sent'")
      .bind(tenantId),
    ...announced,
  ]);
  await queueNewDeliveries(env, results);
  const at = next?.results[0]?.at;
  return at === null || at === undefined ? null : at + deadlineMs;
}

export const CANCELED_REASON = "canceled by request";

/**
 * Cancels logged messages that no consumer has claimed: by id, or a whole batch. Returns how many
 * changed. (No webhook event is named for a cancel.)
 */
export async function cancelLogged(
  d1: D1Database,
  which: { ids: string[] } | { tenantId: string; batchId: string },
  now: number,
): Promise<number> {
  const set = `UPDATE messages SET status = 'canceled', status_reason = '${CANCELED_REASON}',
    completed_at = ?, updated_at = ?`;
  const guard = statusIn(guardFor("canceled"));
  if ("batchId" in which) {
    const result = await d1
      .prepare(`${set} WHERE batch_id = ? AND tenant_id = ? AND ${guard}`)
      .bind(now, now, which.batchId, which.tenantId)
      .run();
    return result.meta.changes;
  }
  let changed = 0;
  for (let i = 0; i < which.ids.length; i += 90) {
    const chunk = which.ids.slice(i, i + 90);
    const result = await d1
      .prepare(`${set} WHERE id IN (${chunk.map(() => "?").join(",")}) AND ${guard}`)
      .bind(now, now, ...chunk)
      .run();
    changed += result.meta.changes;
  }
  return changed;
}

/** The columns a WeChat message takes from its SMS fallback. */
function becomesSms(fallback: SmsFallback) {
  return {
    channel: "sms" as const,
    recipient: fallback.recipient,
    body: fallback.body,
    segments: fallback.segments,
    encoding: fallback.encoding,
    costMicros: fallback.costMicros,
    templateId: fallback.templateId,
    templateVersion: fallback.templateVersion,
    templateParams: fallback.templateParams,
    payload: null,
    provider: null,
    providerMessageId: null,
    // The sender was the WeChat app; the SMS part names none (a carrier would take an app id for
    // its From), so the carrier's own sender is used.
    sender: null,
  };
}

/**
 * Turns a WeChat message WeChat refused for good into its SMS fallback, while our claim holds it:
 * the next delivery of its queue message sends it as an SMS, under the same id. Not a move: it
 * stays `sending`.
 */
export async function switchToSms(
  d1: D1Database,
  message: Pick<MessageRow, "id">,
  claimId: string,
  fallback: SmsFallback,
  now: number,
): Promise<void> {
  await database(d1)
    .update(messages)
    .set({ ...becomesSms(fallback), updatedAt: now })
    .where(
      and(
        eq(messages.id, message.id),
        eq(messages.claimId, claimId),
        eq(messages.status, "sending"),
      ),
    );
}

/**
 * A template message WeChat reported undelivered, with an SMS fallback, becomes that SMS. It stays
 * `sent` (statuses only move forward) until the SMS has its own result; its receipt then finishes
 * it, overwriting the message's reason, so WeChat's verdict is kept on the WeChat attempt, where
 * the attempts list shows it for good. Returns the message if it waits for its SMS (switched now,
 * or by an earlier call whose SMS has no result yet), else null. Only the tenant's dispatcher
 * calls this: it then releases the SMS like any other message (durable-objects/dispatcher).
 */
export async function fallBackToSms(
  d1: D1Database,
  message: { id: string; tenantId: string },
  fallback: SmsFallback,
  reason: string,
  now: number,
): Promise<MessageRow | null> {
  const db = database(d1);
  const ours = and(eq(messages.id, message.id), eq(messages.tenantId, message.tenantId));
  const [, , [row]] = await db.batch([
    db
      .update(messages)
      .set({
        ...becomesSms(fallback),
        sentAt: null,
        statusReason: `falling back to SMS after WeChat: ${reason}`,
        claimId: null,
        claimedUntil: 0,
        updatedAt: now,
      })
      .where(and(ours, eq(messages.channel, "wechat"), eq(messages.status, "sent"))),
    // The attempt's outcome stays `sent` (WeChat took the request); its reason says what followed.
    db
      .update(messageAttempts)
      .set({ reason: `undelivered: WeChat: ${reason}` })
      .where(
        and(
          eq(messageAttempts.messageId, message.id),
          eq(messageAttempts.tenantId, message.tenantId),
          eq(messageAttempts.provider, "wechat"),
          eq(messageAttempts.outcome, "sent"),
          isNull(messageAttempts.reason),
        ),
      ),
    db.select().from(messages).where(ours).limit(1),
  ]);
  const waiting =
    row?.channel === "sms" && row.status === "sent" && row.provider === null ? row : null;
  return waiting;
}
