/**
 * State changes on the send log. Every change is a conditional update that only moves a status
 * forward, so duplicate and out-of-order events (queue redelivery, late receipts) are harmless.
 */
import { and, eq, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { AttemptOutcome, Channel, MessageStatus } from "../domain/vocabulary";
import { newId } from "../lib/ids";
import type { Database } from "./client";
import { messages } from "./schema";

export const FINAL_STATUSES: readonly MessageStatus[] = [
  "delivered",
  "undelivered",
  "failed",
  "canceled",
  "expired",
];

export type MessageRow = typeof messages.$inferSelect;

export async function findMessage(db: Database, tenantId: string, id: string) {
  return db.query.messages.findFirst({
    where: and(eq(messages.id, id), eq(messages.tenantId, tenantId)),
  });
}

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
        // while the SMS goes (statuses only move forward); see queues/wechat-send.
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
            inArray(messages.status, ["scheduled", "queued"]),
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

export interface AttemptRecord {
  messageId: string;
  tenantId: string;
  attempt: number;
  provider: string;
  outcome: AttemptOutcome;
  reason: string | null;
  providerMessageId: string | null;
  latencyMs: number;
  createdAt: number;
}

export type AttemptChange =
  | { kind: "sent"; provider: string; providerMessageId: string }
  | { kind: "retry"; reason: string }
  | { kind: "failed"; reason: string }
  /** No provider could be called (every circuit open): no attempt happened, none is counted. */
  | { kind: "wait"; reason: string };

// The consumer and the receipt hook run these for every message, so they are plain SQL, many rows
// to a statement: the query builder's cost, then D1's cost per statement, showed up in the send
// path's CPU profile (test/bench/RESULTS.md).
const HELD = "WHERE id = ? AND claim_id = ? AND status IN ('sending', 'sent')";
const MARK_RETRY = `UPDATE messages SET status_reason = ?, claim_id = NULL, claimed_until = 0,
  updated_at = ? ${HELD}`;
const MARK_WAITING = `UPDATE messages SET status_reason = ?, attempt_count = attempt_count - 1,
  claim_id = NULL, claimed_until = 0, updated_at = ? ${HELD}`;
const MARK_FAILED = `UPDATE messages SET status = 'failed', status_reason = ?, completed_at = ?,
  claim_id = NULL, claimed_until = 0, updated_at = ? ${HELD}`;

type SqlValue = string | number | null;

/**
 * Statements for many rows at once: `rows` (each of the same width) go into the SQL as a list of
 * value tuples, as many per statement as D1's 100 bound parameters allow besides the fixed ones,
 * which are bound before (`before`) and after (`after`) the list, as they appear in the SQL.
 */
function rowStatements(
  d1: D1Database,
  rows: SqlValue[][],
  fixed: { before?: SqlValue[]; after?: SqlValue[] },
  sql: (tuples: string) => string,
): D1PreparedStatement[] {
  const width = rows[0]?.length ?? 1;
  const before = fixed.before ?? [];
  const after = fixed.after ?? [];
  const perStatement = Math.floor((100 - before.length - after.length) / width);
  const tuple = `(${Array(width).fill("?").join(", ")})`;
  const statements = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const text = sql(Array(chunk.length).fill(tuple).join(", "));
    statements.push(d1.prepare(text).bind(...before, ...chunk.flat(), ...after));
  }
  return statements;
}

/**
 * Writes each attempt before its provider is called, as `unknown`: should its consumer die, or
 * lose both D1 and the dispatcher that would keep the answer (queues/dispatch), the attempt is
 * left saying the truth, that the message may have gone to that provider. The next claim then
 * keeps to that provider, with the same client reference (domain/routing `nextProvider`), never
 * a fresh send that may fail over to a second one. `recordAttempts` puts the answer in its place.
 */
export async function startAttempts(
  d1: D1Database,
  calls: { message: Pick<MessageRow, "id" | "tenantId" | "attemptCount">; provider: string }[],
  now: number,
): Promise<void> {
  const statements = rowStatements(
    d1,
    calls.map(({ message, provider }) => [
      newId("att", now),
      message.id,
      message.tenantId,
      message.attemptCount,
      provider,
      "unknown",
      `no answer recorded from ${provider}: it may have sent the message`,
      0,
      now,
    ]),
    {},
    (tuples) => `INSERT OR IGNORE INTO message_attempts (id, message_id, tenant_id, attempt,
      provider, outcome, reason, latency_ms, created_at) VALUES ${tuples}`,
  );
  if (statements.length > 0) {
    await d1.batch(statements);
  }
}

/**
 * Records attempts and applies their outcomes to their messages, all in one D1 batch. An attempt
 * replaces the row `startAttempts` wrote for it. Each change applies only while the attempt's
 * claim still holds the message. Returns the messages that a held receipt finished on the way
 * (their events are the caller's to emit). Safe to run again with the same results.
 */
export async function recordAttempts(
  d1: D1Database,
  results: {
    attempt: AttemptRecord & { attemptId: string; claimId: string };
    change: AttemptChange;
  }[],
): Promise<ReceiptChange[]> {
  const inserts = rowStatements(
    d1,
    results
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
  // A carrier's receipt can beat our own record of the send (Twilio's status callbacks do): then
  // the message is already delivered or undelivered, and only the send's details are filled in.
  const sent = rowStatements(
    d1,
    results.flatMap(({ attempt, change }) =>
      change.kind === "sent"
        ? [
            [
              attempt.messageId,
              attempt.claimId,
              change.provider,
              change.providerMessageId,
              attempt.createdAt,
            ],
          ]
        : [],
    ),
    {},
    (tuples) => `UPDATE messages SET
      status = CASE status WHEN 'sending' THEN 'sent' ELSE status END,
      status_reason = CASE status WHEN 'sending' THEN NULL ELSE status_reason END,
      provider = v.column3, provider_message_id = v.column4, sent_at = v.column5,
      claim_id = NULL, claimed_until = 0, updated_at = v.column5
      FROM (VALUES ${tuples}) AS v
      WHERE messages.id = v.column1 AND messages.claim_id = v.column2
        AND messages.status IN ('sending', 'sent', 'delivered', 'undelivered')`,
  );
  const retry = d1.prepare(MARK_RETRY);
  const waiting = d1.prepare(MARK_WAITING);
  const failed = d1.prepare(MARK_FAILED);
  const others = results.flatMap(({ attempt, change }) => {
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
  const held = heldReceiptsFor(d1, results);
  const statements = [...inserts, ...sent, ...held, ...others];
  if (statements.length === 0) {
    return [];
  }
  const outcomes = await d1.batch<ReceiptChange>(statements);
  return held.length > 0 ? (outcomes[inserts.length + sent.length]?.results ?? []) : [];
}

/**
 * Ends a message that cannot be sent any more (dead-lettered), unless it already moved on or a
 * consumer holds it right now (that one may be calling a provider, and records what it gets).
 * Says which: `failed` (with the message), `held` (until when), or `done`.
 */
export async function failUnlessDone(
  db: Database,
  id: string,
  reason: string,
  now: number,
): Promise<
  { kind: "failed"; message: MessageRow } | { kind: "held"; until: number } | { kind: "done" }
> {
  const [failed] = await db
    .update(messages)
    .set({ status: "failed", statusReason: reason, completedAt: now, updatedAt: now })
    .where(
      and(
        eq(messages.id, id),
        or(
          inArray(messages.status, ["scheduled", "queued"]),
          and(eq(messages.status, "sending"), lte(messages.claimedUntil, now)),
        ),
      ),
    )
    .returning();
  if (failed) {
    return { kind: "failed", message: failed };
  }
  const row = await db.query.messages.findFirst({
    columns: { status: true, claimedUntil: true },
    where: eq(messages.id, id),
  });
  return row?.status === "sending" && row.claimedUntil > now
    ? { kind: "held", until: row.claimedUntil }
    : { kind: "done" };
}

/** A message a receipt (or the receipt deadline) just finished, as D1 returns it. */
export interface ReceiptChange {
  id: string;
  tenant_id: string;
  channel: Channel;
  recipient: string;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  cost_micros: number;
  batch_id: string | null;
  template_id: string | null;
  metadata: string | null;
  created_at: number;
  provider: string | null;
  provider_message_id: string | null;
  sent_at: number | null;
  status: "delivered" | "undelivered" | "expired";
  status_reason: string | null;
}

/** What a receipt's UPDATE returns: the `ReceiptChange` of each message it finished. */
const RECEIPT_CHANGE_COLUMNS = `messages.id, messages.tenant_id, messages.channel, messages.recipient,
  messages.segments, messages.encoding, messages.cost_micros, messages.batch_id,
  messages.template_id, messages.metadata, messages.created_at, messages.provider,
  messages.provider_message_id, messages.sent_at, messages.status, messages.status_reason`;

/** A receipt for a message found by its carrier id (or, for our own, by its send). */
export interface ReceiptToApply {
  messageId: string;
  /** The carrier's id for the message, where the receipt gives one. */
  providerMessageId: string | null;
  status: "delivered" | "undelivered";
  reason: string | null;
}

/**
 * Applies one tenant's receipts from one provider in one D1 batch, each only to a message whose
 * send is recorded as that provider's (under the receipt's carrier id, where it gives one): a
 * receipt is the provider's word about its own send, not about whatever message it names. A
 * final status is never overwritten and `sent` only moves forward. The claim is left alone: a
 * receipt may arrive while the consumer that sent is still recording it. Says, receipt by
 * receipt, whether it changed its message (of two receipts for one message in one call, only the
 * first can).
 */
export async function applyReceipts(
  d1: D1Database,
  owner: { tenantId: string; provider: string },
  receipts: readonly ReceiptToApply[],
  now: number,
): Promise<{ changed: boolean[]; rows: ReceiptChange[] }> {
  const firstOf = new Map<string, number>();
  receipts.forEach((r, i) => {
    if (!firstOf.has(r.messageId)) {
      firstOf.set(r.messageId, i);
    }
  });
  const unique = [...firstOf.values()].map((i) => receipts[i]).filter((r) => r !== undefined);
  const statements = rowStatements(
    d1,
    unique.map((r) => [r.messageId, r.status, r.reason, r.providerMessageId]),
    { before: [now, now, now], after: [owner.tenantId, owner.provider] },
    (tuples) => `UPDATE messages SET status = v.column2, status_reason = v.column3,
      completed_at = ?, sent_at = COALESCE(sent_at, ?), updated_at = ?
      FROM (VALUES ${tuples}) AS v
      WHERE messages.id = v.column1 AND messages.tenant_id = ? AND messages.provider = ?
        AND (v.column4 IS NULL OR messages.provider_message_id = v.column4)
        AND messages.status IN ('queued', 'sending', 'sent')
      RETURNING ${RECEIPT_CHANGE_COLUMNS}`,
  );
  if (statements.length === 0) {
    return { changed: [], rows: [] };
  }
  const results = await d1.batch<ReceiptChange>(statements);
  const rows = results.flatMap((r) => r.results);
  const changed = new Set(rows.map((row) => row.id));
  return {
    changed: receipts.map((r, i) => firstOf.get(r.messageId) === i && changed.has(r.messageId)),
    rows,
  };
}

/**
 * Holds receipts whose send was not found recorded, and in the same D1 batch applies those whose
 * send is recorded by now. The consumer's record of a send (`recordAttempts`) applies what is held
 * in its own batch; D1 runs each batch as one transaction, so whichever of the two commits second
 * applies the receipt, and a send recorded between the caller's look-up and this hold is not
 * missed. The first receipt a tenant's provider holds for a carrier id wins; another tenant's
 * neither blocks nor finishes it. Says, receipt by receipt, whether it
 * changed its message (as `applyReceipts` does) and whether its send was found recorded (a
 * recorded one is no longer held: applied, or its message had moved on).
 */
export async function holdReceipts(
  d1: D1Database,
  owner: { tenantId: string; provider: string },
  receipts: { providerMessageId: string; status: "delivered" | "undelivered"; reason?: string }[],
  now: number,
): Promise<{ changed: boolean[]; recorded: boolean[]; rows: ReceiptChange[] }> {
  if (receipts.length === 0) {
    return { changed: [], recorded: [], rows: [] };
  }
  const list = JSON.stringify(
    receipts.map((r) => [r.providerMessageId, r.status, r.reason ?? null]),
  );
  const held = `pending_receipts.tenant_id = ?2 AND pending_receipts.provider = ?1
    AND pending_receipts.provider_message_id IN
      (SELECT json_extract(value, '$[0]') FROM json_each(?4))`;
  const recordedSend = `messages.tenant_id = pending_receipts.tenant_id
    AND messages.provider = pending_receipts.provider
    AND messages.provider_message_id = pending_receipts.provider_message_id`;
  const [, applied, settled] = await d1.batch<ReceiptChange & { provider_message_id: string }>([
    d1
      .prepare(
        `INSERT OR IGNORE INTO pending_receipts
           (provider, provider_message_id, tenant_id, status, reason, received_at)
         SELECT ?1, json_extract(value, '$[0]'), ?2, json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), ?3
         FROM json_each(?4)`,
      )
      .bind(owner.provider, owner.tenantId, now, list),
    // The same guard as `heldReceiptsFor`: a WeChat "undelivered" for a message with an SMS
    // fallback is left to the WeChatAccount, which starts the fallback once it finds the send.
    d1
      .prepare(
        `UPDATE messages SET status = pending_receipts.status,
           status_reason = pending_receipts.reason, completed_at = pending_receipts.received_at,
           sent_at = COALESCE(messages.sent_at, pending_receipts.received_at), updated_at = ?3
         FROM pending_receipts
         WHERE ${held} AND messages.tenant_id = ?2 AND ${recordedSend}
           AND messages.status IN ('queued', 'sending', 'sent')
           AND NOT (pending_receipts.status = 'undelivered' AND messages.channel = 'wechat'
             AND json_extract(messages.payload, '$.fallback') IS NOT NULL)
         RETURNING ${RECEIPT_CHANGE_COLUMNS}`,
      )
      .bind(owner.provider, owner.tenantId, now, list),
    d1
      .prepare(
        `DELETE FROM pending_receipts
         WHERE ${held} AND EXISTS (SELECT 1 FROM messages WHERE ${recordedSend})
         RETURNING provider_message_id`,
      )
      .bind(owner.provider, owner.tenantId, now, list),
  ]);
  const changedIds = new Set((applied?.results ?? []).map((row) => row.provider_message_id));
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
    rows: applied?.results ?? [],
  };
}

/**
 * Statements that apply held receipts to the sends being recorded, after the sends' own updates
 * in the same batch, and drop them. Nothing when the batch recorded no send. A held WeChat
 * "undelivered" for a message with an SMS fallback (`channel: "auto"`) is dropped, not applied:
 * that message is not finished but sent again as its SMS, which needs the dispatch queue, so the
 * WeChatAccount that received the result starts it (durable-objects/wechat-account/inbound-copy.ts).
 */
function heldReceiptsFor(
  d1: D1Database,
  results: { attempt: AttemptRecord; change: AttemptChange }[],
): D1PreparedStatement[] {
  const sent = results.flatMap(({ attempt, change }) =>
    change.kind === "sent"
      ? [[attempt.messageId, change.provider, change.providerMessageId, attempt.tenantId]]
      : [],
  );
  if (sent.length === 0) {
    return [];
  }
  const list = JSON.stringify(sent);
  return [
    d1
      .prepare(
        `UPDATE messages SET status = p.status, status_reason = p.reason,
           completed_at = p.received_at, updated_at = p.received_at
         FROM pending_receipts AS p
         WHERE messages.id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))
           AND p.tenant_id = messages.tenant_id AND p.provider = messages.provider
           AND p.provider_message_id = messages.provider_message_id
           AND messages.status = 'sent'
           AND NOT (p.status = 'undelivered' AND messages.channel = 'wechat'
             AND json_extract(messages.payload, '$.fallback') IS NOT NULL)
         RETURNING ${RECEIPT_CHANGE_COLUMNS}`,
      )
      .bind(list),
    d1
      .prepare(
        `DELETE FROM pending_receipts WHERE (tenant_id, provider, provider_message_id) IN
           (SELECT json_extract(value, '$[3]'), json_extract(value, '$[1]'),
              json_extract(value, '$[2]') FROM json_each(?1))`,
      )
      .bind(list),
  ];
}
