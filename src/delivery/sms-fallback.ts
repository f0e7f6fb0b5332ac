/**
 * The SMS a `channel: "auto"` message carries in its payload (services/messaging/best-channel.ts
 * composes it), and the switch that turns the message into it: the dispatch consumer's when
 * WeChat refuses the message for good, and the one a template that ended undelivered makes.
 */
import type { MessageRow } from "../db/message-log";

/** What the consumer switches a WeChat message to when WeChat refuses it for good. */
export interface SmsFallback {
  recipient: string;
  body: string;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  costMicros: number;
  templateId: string | null;
  templateVersion: number | null;
  templateParams: { name: string; value: string }[] | null;
}

/** The columns a WeChat message takes from its SMS fallback (`smsValues` binds them). */
// The sender was the WeChat app; the SMS part names none (a carrier would take an app id for its
// From), so the carrier's own sender is used.
export const BECOME_SMS = `channel = 'sms', recipient = ?, body = ?, segments = ?, encoding = ?,
  cost_micros = ?, template_id = ?, template_version = ?, template_params = ?, payload = NULL,
  provider = NULL, provider_message_id = NULL, sender = NULL`;

export function smsValues(fallback: SmsFallback): (string | number | null)[] {
  return [
    fallback.recipient,
    fallback.body,
    fallback.segments,
    fallback.encoding,
    fallback.costMicros,
    fallback.templateId,
    fallback.templateVersion,
    fallback.templateParams ? JSON.stringify(fallback.templateParams) : null,
  ];
}

/** The SMS a `channel: "auto"` message falls back to, if it has one. */
export function fallbackOf(message: Pick<MessageRow, "payload">): SmsFallback | null {
  const fallback = message.payload?.fallback;
  return fallback && typeof fallback === "object" ? (fallback as SmsFallback) : null;
}

/**
 * Turns a WeChat message WeChat refused for good into its SMS fallback, while our claim holds it:
 * the next delivery of its queue message sends it as an SMS, under the same id.
 */
export async function switchToSms(
  db: D1Database,
  message: MessageRow,
  claimId: string,
  fallback: SmsFallback,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE messages SET ${BECOME_SMS}, updated_at = ?
       WHERE id = ? AND claim_id = ? AND status = 'sending'`,
    )
    .bind(...smsValues(fallback), now, message.id, claimId)
    .run();
}
