/**
 * A verification as the tenant's VerificationLimiter holds it (the authority while it is live) and
 * as D1 keeps it: the view the API answers, and the D1 statements its outbox flushes. Every
 * statement is idempotent: a verification's row lands only over an older revision, the masked
 * texts are an upsert, and masking an already-final message is a no-op the second time.
 */
import type { verifications } from "../db/schema";

export const MAX_CHECKS = 5;

export type VerificationRow = typeof verifications.$inferSelect;

/** The masked texts of one message that carried a code (see sending.ts). */
export interface MaskedTexts {
  messageId: string;
  verificationId: string;
  tenantId: string;
  maskedBody: string;
  maskedWechat: string | null;
  createdAt: number;
}

/** What a start asks the tenant's limiter to record with the send it admits. */
export interface CodeToRecord {
  /** Mode, channel and recipient: the pending verification to it takes the code. */
  key: string;
  newId: string;
  /** As asked; null keeps a pending verification's length (6 for a new one). */
  codeLength: number | null;
  code: string;
  /** The code's hash for `newId` (codes are bound to their verification's id), made by the caller. */
  newHash: string;
  expiresAt: number;
  base: Pick<
    VerificationRow,
    "tenantId" | "channel" | "to" | "recipient" | "country" | "appId" | "mode"
  >;
  /** The message's masked texts, when its id and text are known before it is handed over. */
  masked: Omit<MaskedTexts, "verificationId"> | null;
}

const FINAL = "('delivered', 'undelivered', 'failed', 'canceled', 'expired')";

export function effectiveStatus(row: VerificationRow, now: number): VerificationRow["status"] {
  return row.status === "pending" && row.expiresAt <= now ? "expired" : row.status;
}

export function verificationView(row: VerificationRow, now: number = Date.now()) {
  const status = effectiveStatus(row, now);
  return {
    id: row.id,
    to: row.to,
    channel: row.channel,
    status,
    send_count: row.sendCount,
    attempts_left: status === "pending" ? Math.max(0, MAX_CHECKS - row.attempts) : 0,
    expires_at: new Date(row.expiresAt).toISOString(),
    created_at: new Date(row.createdAt).toISOString(),
    approved_at: row.approvedAt === null ? null : new Date(row.approvedAt).toISOString(),
  };
}

/** The verification's row in D1, unless D1 holds the same or a newer revision. */
export function upsertVerification(db: D1Database, row: VerificationRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO verifications (id, tenant_id, channel, "to", recipient, country, app_id, status,
         code_hash, code_length, attempts, send_count, revision, message_id, mode, created_at,
         updated_at, expires_at, approved_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
       ON CONFLICT (id) DO UPDATE SET recipient = excluded.recipient, app_id = excluded.app_id,
         status = excluded.status, code_hash = excluded.code_hash,
         code_length = excluded.code_length, attempts = excluded.attempts,
         send_count = excluded.send_count, revision = excluded.revision,
         message_id = excluded.message_id, updated_at = excluded.updated_at,
         expires_at = excluded.expires_at, approved_at = excluded.approved_at
       WHERE excluded.revision > verifications.revision`,
    )
    .bind(
      row.id,
      row.tenantId,
      row.channel,
      row.to,
      row.recipient,
      row.country,
      row.appId,
      row.status,
      row.codeHash,
      row.codeLength,
      row.attempts,
      row.sendCount,
      row.revision,
      row.messageId,
      row.mode,
      row.createdAt,
      row.updatedAt,
      row.expiresAt,
      row.approvedAt,
    );
}

/**
 * The message's masked texts, and the message itself masked if it is already final (its row may
 * land after the message turned final, when migration 0023's trigger found nothing to mask with):
 * the same replacement as that trigger, guarded by the status, so a code never stays readable.
 */
export function maskedStatements(db: D1Database, masked: MaskedTexts): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO verification_messages (message_id, verification_id, tenant_id, masked_body,
           masked_wechat, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (message_id) DO UPDATE SET masked_body = excluded.masked_body,
           masked_wechat = excluded.masked_wechat`,
      )
      .bind(
        masked.messageId,
        masked.verificationId,
        masked.tenantId,
        masked.maskedBody,
        masked.maskedWechat,
        masked.createdAt,
      ),
    db
      .prepare(
        `UPDATE messages SET
           body = (
             SELECT CASE
               WHEN messages.channel = 'wechat' AND v.masked_wechat IS NOT NULL THEN v.masked_wechat
               WHEN length(messages.body) >= length(v.masked_body)
                 THEN substr(messages.body, 1, length(messages.body) - length(v.masked_body)) || v.masked_body
               ELSE v.masked_body
             END
             FROM verification_messages v WHERE v.message_id = messages.id
           ),
           template_params = CASE WHEN template_params IS NULL THEN NULL ELSE (
             SELECT json_group_array(CASE
               WHEN json_extract(p.value, '$.name') = 'code' THEN json_object(
                 'name', 'code',
                 'value', substr('**********', 1, length(json_extract(p.value, '$.value')))
               )
               ELSE json(p.value)
             END)
             FROM json_each(messages.template_params) p
           ) END,
           payload = CASE WHEN payload IS NULL THEN NULL ELSE json_remove(
             json_replace(
               payload,
               '$.data.code.value',
               substr('**********', 1, length(json_extract(payload, '$.data.code.value')))
             ),
             '$.fallback'
           ) END
         WHERE id = ?1 AND tenant_id = ?2 AND status IN ${FINAL}`,
      )
      .bind(masked.messageId, masked.tenantId),
  ];
}
