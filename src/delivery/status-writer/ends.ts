/**
 * The status writer's ends that come without a send result (see delivery/status-writer.ts): a
 * dead letter fails its message, the receipt deadline expires a sent one, a cancel cancels one
 * that no consumer has taken.
 */
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { type MessageRow, statusIn } from "../../db/message-log";
import { messages } from "../../db/schema";
import { guardFor } from "../../domain/status-machine";
import { SENT_MESSAGE_SQL, type SentMessageRow, sentMessageOf } from "../message-events";
import { EventRows, queueNewDeliveries } from "./events";

/** What a dead letter leads to: `failed`, `held` by a live claim (until when), or `done`. */
export type DeadLetterOutcome =
  | { kind: "failed" }
  | { kind: "held"; until: number }
  | { kind: "done" };

/** The outcome, and the tenant whose message this call moved (null: it moved none). */
export interface DeadLetterWrite {
  outcome: DeadLetterOutcome;
  movedFor: string | null;
}

// Not one that was sent: a send result is in, and its receipt (or its deadline) finishes it.
const DEAD_LETTER_FROM = guardFor("failed", ["scheduled", "queued", "sending"]);

/**
 * Ends a message that cannot be sent any more (dead-lettered) `failed`, with its
 * `message.failed`, unless it already moved on or a consumer holds it right now (that one may be
 * calling a provider, and records what it gets).
 */
export async function failUnlessDone(
  env: Env,
  sendLog: D1Database,
  id: string,
  reason: string,
  now: number,
): Promise<DeadLetterWrite> {
  const db = database(sendLog);
  const row = await db.query.messages.findFirst({ where: eq(messages.id, id) });
  const before = deadLetterState(row, now);
  if (!row || before.kind !== "failed") {
    return { outcome: before, movedFor: null };
  }
  const events = await EventRows.load(env.DB, [row.tenantId], now);
  await events.announce(
    row,
    {
      status: "failed",
      reason,
      provider: row.provider,
      providerMessageId: row.providerMessageId,
      at: now,
    },
    { status: "failed", at: now },
  );
  const announced = events.statements(sendLog);
  const [failed, ...results] = await sendLog.batch([
    sendLog
      .prepare(
        `UPDATE messages SET status = 'failed', status_reason = ?, completed_at = ?, updated_at = ?
       WHERE id = ? AND ${statusIn(DEAD_LETTER_FROM)}
         AND (status <> 'sending' OR claimed_until <= ?)`,
      )
      .bind(reason, now, now, id, now),
    ...announced,
  ]);
  if (failed && failed.meta.changes > 0) {
    await queueNewDeliveries(env, results, sendLog);
    return { outcome: { kind: "failed" }, movedFor: row.tenantId };
  }
  // It moved between the read and the write (the write's guard is the read's `failed`): look again.
  const after = await db.query.messages.findFirst({ where: eq(messages.id, id) });
  return { outcome: deadLetterState(after, now), movedFor: null };
}

function deadLetterState(row: MessageRow | undefined, now: number): DeadLetterOutcome {
  if (row?.status === "sending" && row.claimedUntil > now) {
    return { kind: "held", until: row.claimedUntil };
  }
  return row && DEAD_LETTER_FROM.includes(row.status) ? { kind: "failed" } : { kind: "done" };
}

/** Messages expired per sweep when their events need them read first. */
const EXPIRE_READ_LIMIT = 1000;

/**
 * Ends `expired` the tenant's sent messages whose receipt is overdue, with their
 * `message.expired`, and says when the next of its still-sent messages will be (null when none is
 * waiting). Where an endpoint takes `message.expired`, the overdue messages are read first (up
 * to EXPIRE_READ_LIMIT a sweep; the next sweep, due within a second, takes the rest).
 */
export async function expireOverdue(
  env: Env,
  sendLog: D1Database,
  tenantId: string,
  now: number,
  deadlineMs: number,
): Promise<{ next: number | null; expired: number }> {
  const d1 = sendLog;
  const reason = `no delivery receipt within ${deadlineMs / 1000} s of sending`;
  // The endpoints are on the main database; the messages and their deliveries on `sendLog`.
  const events = await EventRows.load(env.DB, [tenantId], now);
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
      const expired = {
        status: "expired" as const,
        reason,
        provider: message.provider,
        providerMessageId: message.providerMessageId,
        at: now,
        sentAt: message.sentAt,
      };
      await events.announce(message, expired, { status: "expired", at: now });
    }
    only = "AND id IN (SELECT value FROM json_each(?))";
    bound.push(JSON.stringify(results.map((row) => row.id)));
  }
  const announced = events.statements(d1);
  const [expired, next, ...results] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `UPDATE messages SET status = 'expired', status_reason = ?, completed_at = ?, updated_at = ?
         WHERE tenant_id = ? AND ${statusIn(guardFor("expired"))} AND sent_at <= ? ${only}
         RETURNING id`,
      )
      .bind(...bound),
    d1
      .prepare("SELECT MIN(sent_at) AS at FROM messages WHERE tenant_id = ? AND status = 'sent'")
      .bind(tenantId),
    ...announced,
  ]);
  await queueNewDeliveries(env, results, d1);
  const at = next?.results[0]?.at as number | null | undefined;
  // Counted by the rows returned: D1's `changes` also counts what triggers wrote (the rollups).
  const count = expired?.results.length ?? 0;
  return { next: at === null || at === undefined ? null : at + deadlineMs, expired: count };
}

export const CANCELED_REASON = "canceled by request";

/**
 * Cancels logged messages that no consumer has claimed: by id, or a whole batch. Returns the
 * tenant of each message that changed. (No webhook event is named for a cancel.)
 */
export async function cancelLogged(
  d1: D1Database,
  which: { ids: string[] } | { tenantId: string; batchId: string },
  now: number,
): Promise<string[]> {
  const set = `UPDATE messages SET status = 'canceled', status_reason = '${CANCELED_REASON}',
    completed_at = ?, updated_at = ?`;
  const guard = statusIn(guardFor("canceled"));
  // Counted by the rows returned: D1's `changes` also counts what triggers wrote (the rollups).
  if ("batchId" in which) {
    const result = await d1
      .prepare(`${set} WHERE batch_id = ? AND tenant_id = ? AND ${guard} RETURNING tenant_id`)
      .bind(now, now, which.batchId, which.tenantId)
      .all<{ tenant_id: string }>();
    return result.results.map((row) => row.tenant_id);
  }
  const changed: string[] = [];
  for (let i = 0; i < which.ids.length; i += 90) {
    const chunk = which.ids.slice(i, i + 90);
    const result = await d1
      .prepare(
        `${set} WHERE id IN (${chunk.map(() => "?").join(",")}) AND ${guard} RETURNING tenant_id`,
      )
      .bind(now, now, ...chunk)
      .all<{ tenant_id: string }>();
    changed.push(...result.results.map((row) => row.tenant_id));
  }
  return changed;
}
