/**
 * State changes on the send log. Every change is a conditional update that only moves a status
 * forward, so duplicate and out-of-order events (queue redelivery, late receipts) are harmless.
 */
import { and, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { Database } from "./client";
import { type AttemptOutcome, type MessageStatus, messages } from "./schema";

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
        status: "sending",
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
  | { kind: "failed"; reason: string };

// The consumer and the receipt hook run these for every message, so they are prepared SQL: the
// query builder's cost per statement showed up in the send path's CPU profile (test/bench).
const ATTEMPT_COLUMNS = 10;
const ATTEMPT_ROWS_PER_INSERT = Math.floor(100 / ATTEMPT_COLUMNS); // D1: ≤ 100 bound parameters
const HELD = "WHERE id = ? AND claim_id = ? AND status = 'sending'";
// A carrier's receipt can beat our own record of the send (Twilio's status callbacks do): then the
// message is already delivered or undelivered, and only the send's details are filled in.
const MARK_SENT = `UPDATE messages SET
  status = CASE status WHEN 'sending' THEN 'sent' ELSE status END,
  status_reason = CASE status WHEN 'sending' THEN NULL ELSE status_reason END,
  provider = ?, provider_message_id = ?, sent_at = ?, claim_id = NULL, claimed_until = 0,
  updated_at = ?
  WHERE id = ? AND claim_id = ? AND status IN ('sending', 'delivered', 'undelivered')`;
const MARK_RETRY = `UPDATE messages SET status_reason = ?, claim_id = NULL, claimed_until = 0,
  updated_at = ? ${HELD}`;
const MARK_FAILED = `UPDATE messages SET status = 'failed', status_reason = ?, completed_at = ?,
  claim_id = NULL, claimed_until = 0, updated_at = ? ${HELD}`;

/**
 * Records attempts and applies their outcomes to their messages, all in one D1 batch. Each change
 * applies only while the attempt's claim still holds the message.
 */
export async function recordAttempts(
  d1: D1Database,
  results: {
    attempt: AttemptRecord & { attemptId: string; claimId: string };
    change: AttemptChange;
  }[],
): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < results.length; i += ATTEMPT_ROWS_PER_INSERT) {
    const chunk = results.slice(i, i + ATTEMPT_ROWS_PER_INSERT);
    const placeholders = chunk.map(() => `(${Array(ATTEMPT_COLUMNS).fill("?").join(", ")})`);
    statements.push(
      d1
        .prepare(
          `INSERT OR IGNORE INTO message_attempts (id, message_id, tenant_id, attempt, provider,
           outcome, reason, provider_message_id, latency_ms, created_at)
           VALUES ${placeholders.join(", ")}`,
        )
        .bind(
          ...chunk.flatMap(({ attempt: a }) => [
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
        ),
    );
  }
  const sent = d1.prepare(MARK_SENT);
  const retry = d1.prepare(MARK_RETRY);
  const failed = d1.prepare(MARK_FAILED);
  for (const { attempt, change } of results) {
    const now = attempt.createdAt;
    const held = [attempt.messageId, attempt.claimId];
    statements.push(
      change.kind === "sent"
        ? sent.bind(change.provider, change.providerMessageId, now, now, ...held)
        : change.kind === "retry"
          ? retry.bind(change.reason, now, ...held)
          : failed.bind(change.reason, now, now, ...held),
    );
  }
  if (statements.length > 0) {
    await d1.batch(statements);
  }
}

/** Ends a message that cannot be sent any more (dead-lettered), unless it already moved on. */
export async function failUnlessDone(
  db: Database,
  id: string,
  reason: string,
  now: number,
): Promise<void> {
  await db
    .update(messages)
    .set({ status: "failed", statusReason: reason, completedAt: now, updatedAt: now })
    .where(and(eq(messages.id, id), inArray(messages.status, ["scheduled", "queued", "sending"])));
}

// The claim is left alone: a receipt may arrive while the consumer that sent is still recording it.
const APPLY_RECEIPT = `UPDATE messages SET status = ?, status_reason = ?, completed_at = ?,
  sent_at = COALESCE(sent_at, ?), updated_at = ?
  WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'sending', 'sent')`;

/**
 * Applies carrier receipts for one tenant in one D1 batch; a final status is never overwritten and
 * `sent` only moves forward. Says, receipt by receipt, whether it changed its message.
 */
export async function applyReceipts(
  d1: D1Database,
  tenantId: string,
  receipts: { messageId: string; status: "delivered" | "undelivered"; reason: string | null }[],
  now: number,
): Promise<boolean[]> {
  if (receipts.length === 0) {
    return [];
  }
  const apply = d1.prepare(APPLY_RECEIPT);
  const results = await d1.batch(
    receipts.map((r) => apply.bind(r.status, r.reason, now, now, now, r.messageId, tenantId)),
  );
  return results.map((result) => result.meta.changes > 0);
}
