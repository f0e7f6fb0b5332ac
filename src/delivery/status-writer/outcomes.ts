/**
 * The status writer's send path (see delivery/status-writer.ts): a consumer's claim on the
 * messages it is about to send, and the outcomes of its attempts, each written with its events.
 */
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import {
  type AttemptChange,
  type AttemptRecord,
  type MessageRow,
  rowStatements,
  statusIn,
} from "../../db/message-log";
import { messages } from "../../db/schema";
import { guardFor } from "../../domain/status-machine";
import type { MessageStatus } from "../../domain/vocabulary";
import { isTemplateMessage } from "../../domain/wechat-payload";
import { EventRows, queueNewDeliveries, REASON_FROM_ROW } from "./events";
import { SMS_FALLBACK_CLAIM } from "./fallback";
import { heldReceiptStatements } from "./receipts";

const CLAIMABLE = guardFor("sending");
/** The statuses a message waits for its SMS fallback in (fallback.ts); a final one sends nothing. */
const WAITING_FOR_SMS: MessageStatus[] = ["sending", "sent"];

/**
 * Takes messages for one provider call each. A message is taken when it is waiting to be sent, or
 * when its previous claim lapsed (its consumer died or it is waiting out a retry); at most one
 * holder at a time. A message whose SMS fallback waits for the dispatcher (fallback.ts) is taken
 * only by a job of `smsReleases`, the ids whose queue job is the dispatcher's release of that SMS.
 * Returns the rows taken, with their new attempt numbers.
 */
export async function claimForSending(
  db: Database,
  ids: string[],
  claimId: string,
  now: number,
  claimMs: number,
  smsReleases: ReadonlySet<string> = new Set(),
): Promise<MessageRow[]> {
  if (ids.length === 0) {
    return [];
  }
  const notHandedOver = sql`${messages.claimId} IS NOT ${SMS_FALLBACK_CLAIM}`;
  const released = ids.filter((id) => smsReleases.has(id));
  // The ids go as one JSON parameter each list: D1 binds at most 100 parameters per query, and a
  // queue batch alone holds up to 100 messages (SQLite still looks each id up by its key).
  const idIn = (list: readonly string[]) =>
    sql`${messages.id} IN (SELECT value FROM json_each(${JSON.stringify(list)}))`;
  return db
    .update(messages)
    .set({
      // A WeChat message falling back to SMS after its template ended undelivered stays `sent`
      // while the SMS goes (statuses only move forward); see fallback.ts.
      status: sql`CASE WHEN ${messages.status} = 'sent' THEN 'sent' ELSE 'sending' END`,
      claimId,
      claimedUntil: now + claimMs,
      attemptCount: sql`${messages.attemptCount} + 1`,
      updatedAt: now,
    })
    .where(
      and(
        idIn(ids),
        or(
          inArray(messages.status, CLAIMABLE),
          // Taken again, not moved: a lapsed claim (a fallback SMS's too, which waits as `sent`
          // when its template message ended undelivered), never the dispatcher's hold on one.
          and(eq(messages.status, "sending"), lt(messages.claimedUntil, now), notHandedOver),
          and(
            eq(messages.status, "sent"),
            eq(messages.channel, "sms"),
            isNull(messages.provider),
            lt(messages.claimedUntil, now),
            notHandedOver,
          ),
          // A fallback SMS, by the dispatcher's release of it.
          released.length > 0
            ? and(
                eq(messages.claimId, SMS_FALLBACK_CLAIM),
                inArray(messages.status, WAITING_FOR_SMS),
                idIn(released),
              )
            : undefined,
        ),
      ),
    )
    .returning();
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
export async function recordAttempts(
  env: Env,
  sendLog: D1Database,
  records: readonly OutcomeRecord[],
): Promise<void> {
  if (records.length === 0) {
    return;
  }
  const d1 = sendLog;
  const events = await EventRows.load(
    env.DB,
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
  await queueNewDeliveries(env, results.slice(results.length - announced.length), d1);
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
    const failed = {
      status: "failed" as const,
      reason: change.reason,
      // As the API shows it: the provider that took the message, so none for one that failed
      // (the one that refused it, if any, is in the message's attempts).
      provider: message.provider,
      providerMessageId: message.providerMessageId,
      at,
    };
    await events.announce(message, failed, { status: "failed", at });
    return;
  }
  if (change.kind !== "sent") {
    return;
  }
  const send = { provider: change.provider, providerMessageId: change.providerMessageId };
  await events.announce(
    message,
    { status: "sent", reason: null, ...send, at, sentAt: at },
    { providerMessageId: change.providerMessageId, sentAt: at },
  );
  if (message.channel === "wechat" && !isTemplateMessage(message)) {
    return; // delivered on send, with no event of its own (see deliveredOnSend)
  }
  // A receipt held for this send, if any, finishes the message in the same batch.
  for (const status of ["delivered", "undelivered"] as const) {
    await events.announce(
      message,
      { status, reason: REASON_FROM_ROW, ...send, at, sentAt: at },
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
