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

/**
 * Records attempts and applies their outcomes to their messages, all in one D1 batch. Each change
 * applies only while the attempt's claim still holds the message.
 */
export async function recordAttempts(
  db: Database,
  results: {
    attempt: AttemptRecord & { attemptId: string; claimId: string };
    change: AttemptChange;
  }[],
): Promise<void> {
  if (results.length === 0) {
    return;
  }
  const rows = results.map(({ attempt }) => ({
    id: attempt.attemptId,
    messageId: attempt.messageId,
    tenantId: attempt.tenantId,
    attempt: attempt.attempt,
    provider: attempt.provider,
    outcome: attempt.outcome,
    reason: attempt.reason,
    providerMessageId: attempt.providerMessageId,
    latencyMs: attempt.latencyMs,
    createdAt: attempt.createdAt,
  }));
  // Ten columns a row: ten rows keep each insert within D1's 100 bound parameters.
  const inserts = [];
  for (let i = 0; i < rows.length; i += 10) {
    inserts.push(
      db
        .insert(messageAttempts)
        .values(rows.slice(i, i + 10))
        .onConflictDoNothing(),
    );
  }
  const updates = results.map(({ attempt, change }) => {
    const now = attempt.createdAt;
    const held = and(
      eq(messages.id, attempt.messageId),
      eq(messages.claimId, attempt.claimId),
      eq(messages.status, "sending"),
    );
    const released = { claimId: null, claimedUntil: 0, updatedAt: now };
    const set =
      change.kind === "sent"
        ? {
            ...released,
            status: "sent" as const,
            statusReason: null,
            provider: change.provider,
            providerMessageId: change.providerMessageId,
            sentAt: now,
          }
        : change.kind === "retry"
          ? { ...released, statusReason: change.reason }
          : {
              ...released,
              status: "failed" as const,
              statusReason: change.reason,
              completedAt: now,
            };
    return db.update(messages).set(set).where(held);
  });
  const [first, ...rest] = [...inserts, ...updates];
  if (first) {
    await db.batch([first, ...rest]);
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

/**
 * Applies carrier receipts for one tenant in one D1 batch; a final status is never overwritten and
 * `sent` only moves forward. Says, receipt by receipt, whether it changed its message.
 */
export async function applyReceipts(
  db: Database,
  tenantId: string,
  receipts: { messageId: string; status: "delivered" | "undelivered"; reason: string | null }[],
  now: number,
): Promise<boolean[]> {
  const updates = receipts.map((receipt) =>
    db
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
          eq(messages.id, receipt.messageId),
          eq(messages.tenantId, tenantId),
          inArray(messages.status, ["queued", "sending", "sent"]),
        ),
      )
      .returning({ id: messages.id }),
  );
  const [first, ...rest] = updates;
  if (!first) {
    return [];
  }
  const results = await db.batch([first, ...rest]);
  return results.map((rows) => rows.length > 0);
}
