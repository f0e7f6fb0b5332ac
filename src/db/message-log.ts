/**
 * State changes on the send log. Every change is a conditional update that only moves a status
 * forward, so duplicate and out-of-order events (queue redelivery, late receipts) are harmless.
 */
import { and, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { Database } from "./client";
import { type AttemptOutcome, type MessageStatus, messageAttempts, messages } from "./schema";

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
 * Takes the message for one provider call. Succeeds for a message waiting to be sent, or one whose
 * previous claim lapsed (its consumer died or is waiting out a retry); at most one holder at a time.
 */
export async function claimForSending(
  db: Database,
  id: string,
  claimId: string,
  now: number,
  claimMs: number,
): Promise<MessageRow | undefined> {
  const [row] = await db
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
        eq(messages.id, id),
        or(
          inArray(messages.status, ["scheduled", "queued"]),
          and(eq(messages.status, "sending"), lt(messages.claimedUntil, now)),
        ),
      ),
    )
    .returning();
  return row;
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

/** Records the attempt and applies its outcome to the message, in one D1 batch. */
export async function recordAttempt(
  db: Database,
  attempt: AttemptRecord & { attemptId: string; claimId: string },
  change:
    | { kind: "sent"; provider: string; providerMessageId: string }
    | { kind: "retry"; reason: string }
    | { kind: "failed"; reason: string },
): Promise<void> {
  const now = attempt.createdAt;
  const held = and(eq(messages.id, attempt.messageId), eq(messages.claimId, attempt.claimId));
  const insert = db
    .insert(messageAttempts)
    .values({
      id: attempt.attemptId,
      messageId: attempt.messageId,
      tenantId: attempt.tenantId,
      attempt: attempt.attempt,
      provider: attempt.provider,
      outcome: attempt.outcome,
      reason: attempt.reason,
      providerMessageId: attempt.providerMessageId,
      latencyMs: attempt.latencyMs,
      createdAt: now,
    })
    .onConflictDoNothing();
  const released = { claimId: null, claimedUntil: 0, updatedAt: now };
  const update =
    change.kind === "sent"
      ? db
          .update(messages)
          .set({
            ...released,
            status: "sent",
            statusReason: null,
            provider: change.provider,
            providerMessageId: change.providerMessageId,
            sentAt: now,
          })
          .where(and(held, eq(messages.status, "sending")))
      : change.kind === "retry"
        ? db
            .update(messages)
            .set({ ...released, statusReason: change.reason })
            .where(and(held, eq(messages.status, "sending")))
        : db
            .update(messages)
            .set({ ...released, status: "failed", statusReason: change.reason, completedAt: now })
            .where(and(held, eq(messages.status, "sending")));
  await db.batch([insert, update]);
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

/** Applies a carrier receipt; a final status is never overwritten, `sent` only moves forward. */
export async function applyReceipt(
  db: Database,
  where: { tenantId: string; messageId: string },
  receipt: { status: "delivered" | "undelivered"; reason: string | null },
  now: number,
): Promise<boolean> {
  const updated = await db
    .update(messages)
    .set({
      status: receipt.status,
      statusReason: receipt.reason,
      completedAt: now,
      updatedAt: now,
      claimId: null,
      claimedUntil: 0,
    })
    .where(
      and(
        eq(messages.id, where.messageId),
        eq(messages.tenantId, where.tenantId),
        inArray(messages.status, ["queued", "sending", "sent"]),
      ),
    )
    .returning({ id: messages.id });
  return updated.length > 0;
}
