/**
 * Verifications (`vrf_`): start (or re-send inside the ttl), check, read, cancel. Every send is
 * admitted by the limiters first (limits.ts), before any provider can be called; a refusal is a
 * 429 naming the rule (`limit`) with Retry-After. A code works once; five wrong checks end the
 * verification. Status changes are single conditional UPDATEs, so two checks at once cannot both
 * approve, nor a check approve a canceled or re-sent code. The statistics' sends, checks and
 * approvals are counted by migration 0023's triggers on those same writes (send_count, attempts,
 * status), so they count exactly what changed.
 */
import { and, desc, eq, gt, lte } from "drizzle-orm";
import { database } from "../../db/client";
import { verifications } from "../../db/schema";
import { emitEvents } from "../../delivery/webhook-events";
import type { Caller } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { codeHash, codeMatches, newCode } from "./codes";
import { admitVerificationSend, recordVerificationApproved } from "./limits";
import { type Locale, sendCodeBySms, sendCodeByWeChat } from "./sending";

export const MAX_CHECKS = 5;

export type VerificationRow = typeof verifications.$inferSelect;

export interface StartInput {
  to: string;
  channel: "sms" | "wechat" | "auto";
  app_id?: string;
  template_id?: string;
  code_length?: number;
  ttl_seconds?: number;
  locale?: Locale;
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

/** A key reaches only its own mode's verifications (as with messages); a dashboard user both. */
function modeOf(caller: Caller) {
  return caller.seesBothModes ? undefined : eq(verifications.mode, caller.mode);
}

function effectiveStatus(row: VerificationRow, now: number): VerificationRow["status"] {
  return row.status === "pending" && row.expiresAt <= now ? "expired" : row.status;
}

function recipientOf(caller: Caller, input: StartInput): { to: string; country: string | null } {
  if (input.channel !== "sms") {
    return { to: input.to, country: null };
  }
  const phone = normalisePhone(input.to, caller.tenant.homeCountry);
  if (!phone.ok) {
    throw new ApiError("unprocessable-entity", `to: ${phone.error.detail}`, {
      errors: [{ pointer: "/to", detail: phone.error.detail }],
    });
  }
  return { to: phone.e164, country: phone.country };
}

/** Starts a verification, or sends a fresh code on the pending one to the same recipient. */
export async function startVerification(
  env: Env,
  caller: Caller,
  input: StartInput,
  now: number = Date.now(),
): Promise<{ row: VerificationRow; code: string }> {
  const tenantId = caller.tenant.id;
  const { to, country } = recipientOf(caller, input);
  const db = database(env.DB);
  // The limiters and the lookup of a pending verification do not wait for each other.
  const [admission, pending] = await Promise.all([
    admitVerificationSend(env, {
      tenantId,
      channel: input.channel === "sms" ? "sms" : "wechat",
      recipient: to,
      country,
      now,
    }),
    db.query.verifications.findFirst({
      where: and(
        eq(verifications.tenantId, tenantId),
        eq(verifications.mode, caller.mode),
        eq(verifications.to, to),
        eq(verifications.channel, input.channel),
        eq(verifications.status, "pending"),
        gt(verifications.expiresAt, now),
      ),
      orderBy: desc(verifications.createdAt),
    }),
  ]);
  if (!admission.ok) {
    throw new ApiError(
      "rate-limited",
      `Verification limit ${admission.limit} reached for ${to}; retry after ${admission.retryAfterSeconds} s.`,
      {
        headers: { "Retry-After": String(admission.retryAfterSeconds) },
        extensions: { limit: admission.limit },
      },
    );
  }
  const codeLength = input.code_length ?? pending?.codeLength ?? 6;
  const ttlSeconds = input.ttl_seconds ?? 600;
  const id = pending?.id ?? newId("vrf", now);
  const code = newCode(codeLength);
  const changes = {
    codeHash: await codeHash(env, id, code),
    codeLength,
    sendCount: (pending?.sendCount ?? 0) + 1,
    expiresAt: now + ttlSeconds * 1000,
    updatedAt: now,
  };
  const row: VerificationRow = pending
    ? { ...pending, ...changes }
    : {
        id,
        tenantId,
        channel: input.channel,
        to,
        recipient: to,
        country,
        appId: input.app_id ?? null,
        status: "pending",
        attempts: 0,
        messageId: null,
        mode: caller.mode,
        createdAt: now,
        approvedAt: null,
        ...changes,
      };
  // The verification as it stands with the new code (the old one stops working), written before
  // the code can reach anyone; again with the message's id, in the same batch as its masked text.
  const written = (messageId: string | null) =>
    db
      .insert(verifications)
      .values({ ...row, messageId: messageId ?? row.messageId })
      .onConflictDoUpdate({
        target: verifications.id,
        set: { ...changes, messageId: messageId ?? row.messageId },
      });
  const send = {
    verificationId: id,
    channel: input.channel,
    to,
    appId: input.app_id ?? null,
    templateId: input.template_id ?? null,
    locale: input.locale ?? (country === "CN" || caller.tenant.homeCountry === "CN" ? "zh" : "en"),
    code,
    ttlSeconds,
  } as const;
  const messageId =
    input.channel === "sms"
      ? await sendCodeBySms(env, caller, send, now, written)
      : await sendCodeByWeChat(env, caller, send, now, written);
  return { row: { ...row, messageId }, code };
}

/** The tenant's verification, or a 404 identical to a missing one. */
export async function getVerification(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<VerificationRow> {
  const row = await database(env.DB).query.verifications.findFirst({
    where: and(
      eq(verifications.tenantId, caller.tenant.id),
      eq(verifications.id, id),
      modeOf(caller),
    ),
  });
  if (!row) {
    throw new ApiError("not-found", `No verification ${id}.`);
  }
  return expireIfDue(env, row, now);
}

async function expireIfDue(env: Env, row: VerificationRow, now: number): Promise<VerificationRow> {
  if (row.status !== "pending" || row.expiresAt > now) {
    return row;
  }
  const [expired] = await database(env.DB)
    .update(verifications)
    .set({ status: "expired", updatedAt: now })
    .where(and(eq(verifications.id, row.id), eq(verifications.status, "pending")))
    .returning();
  if (expired) {
    await emitVerificationEvent(env, "verification.expired", expired, now);
    return expired;
  }
  return { ...row, status: "expired" };
}

/** Expires every pending verification past its time (the scheduled housekeeping). */
export async function expireDueVerifications(env: Env, now: number = Date.now()): Promise<number> {
  const expired = await database(env.DB)
    .update(verifications)
    .set({ status: "expired", updatedAt: now })
    .where(and(eq(verifications.status, "pending"), lte(verifications.expiresAt, now)))
    .returning();
  for (const row of expired) {
    await emitVerificationEvent(env, "verification.expired", row, now);
  }
  return expired.length;
}

export interface CheckResult {
  row: VerificationRow;
  valid: boolean;
}

/** Checks a code against the verification `id`, or the pending one to `to`. */
export async function checkVerification(
  env: Env,
  caller: Caller,
  input: { id?: string; to?: string; code: string },
  now: number = Date.now(),
): Promise<CheckResult> {
  const row = await verificationToCheck(env, caller, input, now);
  if (row.status !== "pending") {
    return { row, valid: false };
  }
  const db = database(env.DB);
  if (await codeMatches(env, row.id, input.code, row.codeHash)) {
    // Guarded by the hash checked: a code re-sent or used in the meantime does not approve.
    const [approved] = await db
      .update(verifications)
      .set({ status: "approved", approvedAt: now, updatedAt: now })
      .where(
        and(
          eq(verifications.id, row.id),
          eq(verifications.status, "pending"),
          eq(verifications.codeHash, row.codeHash),
          gt(verifications.expiresAt, now),
        ),
      )
      .returning();
    if (approved) {
      await recordVerificationApproved(env, {
        tenantId: approved.tenantId,
        recipient: approved.recipient,
        country: approved.country,
        now,
      });
      await emitVerificationEvent(env, "verification.approved", approved, now);
      return { row: approved, valid: true };
    }
    return { row: await getVerification(env, caller, row.id, now), valid: false };
  }
  await env.DB.prepare(
    `UPDATE verifications SET attempts = attempts + 1, updated_at = ?1,
       status = CASE WHEN attempts + 1 >= ?2 THEN 'max_attempts_reached' ELSE status END
     WHERE id = ?3 AND status = 'pending' RETURNING id`,
  )
    .bind(now, MAX_CHECKS, row.id)
    .run();
  return { row: await getVerification(env, caller, row.id, now), valid: false };
}

async function verificationToCheck(
  env: Env,
  caller: Caller,
  input: { id?: string; to?: string },
  now: number,
): Promise<VerificationRow> {
  if (input.id !== undefined) {
    return getVerification(env, caller, input.id, now);
  }
  const to = input.to ?? "";
  const phone = normalisePhone(to, caller.tenant.homeCountry);
  const wanted = phone.ok ? phone.e164 : to;
  const row = await database(env.DB).query.verifications.findFirst({
    where: and(
      eq(verifications.tenantId, caller.tenant.id),
      eq(verifications.to, wanted),
      modeOf(caller),
    ),
    orderBy: desc(verifications.createdAt),
  });
  if (!row) {
    throw new ApiError("not-found", `No verification to ${to}.`);
  }
  return expireIfDue(env, row, now);
}

export async function cancelVerification(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<VerificationRow> {
  const row = await getVerification(env, caller, id, now);
  if (row.status !== "pending") {
    throw new ApiError(
      "conflict",
      `Verification ${id} is ${row.status}; only a pending one cancels.`,
    );
  }
  const [canceled] = await database(env.DB)
    .update(verifications)
    .set({ status: "canceled", updatedAt: now })
    .where(and(eq(verifications.id, id), eq(verifications.status, "pending")))
    .returning();
  return canceled ?? getVerification(env, caller, id, now);
}

async function emitVerificationEvent(
  env: Env,
  type: "verification.approved" | "verification.expired",
  row: VerificationRow,
  now: number,
): Promise<void> {
  await emitEvents(env, [
    {
      type,
      tenantId: row.tenantId,
      messageId: `verification:${row.id}`,
      occurredAt: now,
      data: verificationView(row, now),
    },
  ]);
}
