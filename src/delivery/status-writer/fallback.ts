/**
 * The status writer's SMS fallback (see delivery/status-writer.ts): a `channel: "auto"` message
 * whose WeChat part WeChat refused, or ended undelivered, becomes its SMS under the same id.
 *
 * Its SMS goes only when the tenant's dispatcher releases it (behind the phone's earlier messages,
 * at the tenant's rate), never straight from a consumer: the switch hands the message's claim to
 * the dispatcher (`claim_id` SMS_FALLBACK_CLAIM), which no lapsed-claim rule takes, and only a
 * queue job the dispatcher marked as the SMS's release (`sms_fallback`) may claim it then
 * (outcomes.ts). A copy of the job that sent the WeChat part finds it so held and hands it to the
 * dispatcher again, which is what recovers a hand-over lost in between (queues/dispatch.ts). The
 * status does not move for it: `sending` (refused at send time), or `sent` with no `sent_at` (its
 * template message ended undelivered) until the SMS has its own result.
 */
import { and, eq, isNull } from "drizzle-orm";
import { database } from "../../db/client";
import type { AttemptRecord, MessageRow } from "../../db/message-log";
import { messageAttempts, messages } from "../../db/schema";
import type { SmsFallback } from "../../domain/wechat-payload";

/** The claim of a message whose SMS waits for its release by the tenant's dispatcher. */
export const SMS_FALLBACK_CLAIM = "sms-fallback";

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
 * Turns a WeChat message WeChat refused for good into its SMS fallback, while the claim of
 * `attempt` (WeChat's answer) holds it, and hands the claim to the dispatcher: the consumer then gives the SMS to the tenant's
 * dispatcher, which releases it in its turn. Not a move: it stays `sending`. WeChat's answer
 * (`attempt`, replacing the row written before the call) is written in the same batch, so no
 * crash leaves the SMS on its way with the WeChat attempt saying it may have gone. Returns the
 * message as it now is, or null when our claim no longer held it (then only the attempt is
 * written, as the consumer would anyway).
 */
export async function switchToSms(
  d1: D1Database,
  attempt: AttemptRecord & { attemptId: string; claimId: string },
  fallback: SmsFallback,
  reason: string,
  now: number,
): Promise<MessageRow | null> {
  const db = database(d1);
  const { attemptId, claimId, ...answer } = attempt;
  const [, [row]] = await db.batch([
    db
      .insert(messageAttempts)
      .values({ id: attemptId, ...answer })
      .onConflictDoUpdate({
        target: [messageAttempts.messageId, messageAttempts.attempt],
        set: {
          provider: answer.provider,
          outcome: answer.outcome,
          reason: answer.reason,
          providerMessageId: answer.providerMessageId,
          latencyMs: answer.latencyMs,
          createdAt: answer.createdAt,
        },
      }),
    db
      .update(messages)
      .set({
        ...becomesSms(fallback),
        statusReason: reason,
        claimId: SMS_FALLBACK_CLAIM,
        claimedUntil: 0,
        updatedAt: now,
      })
      .where(
        and(
          eq(messages.id, attempt.messageId),
          eq(messages.claimId, claimId),
          eq(messages.status, "sending"),
        ),
      )
      .returning(),
  ]);
  return row ?? null;
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
        claimId: SMS_FALLBACK_CLAIM,
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
