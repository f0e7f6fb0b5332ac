/**
 * The status writer's SMS fallback (see delivery/status-writer.ts): a `channel: "auto"` message
 * whose WeChat part WeChat refused, or ended undelivered, becomes its SMS under the same id.
 */
import { and, eq, isNull } from "drizzle-orm";
import { database } from "../../db/client";
import type { MessageRow } from "../../db/message-log";
import { messageAttempts, messages } from "../../db/schema";
import type { SmsFallback } from "../../domain/wechat-payload";

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
