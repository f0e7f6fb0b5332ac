/**
 * Verifications (`vrf_`): start (or re-send inside the ttl), check, read, cancel. Every send is
 * admitted by the limiters first (limits.ts), before any provider can be called; a refusal is a
 * 429 naming the rule (`limit`) with Retry-After. A code works once; five wrong checks end the
 * verification. Status changes are single conditional UPDATEs, so two checks at once cannot both
 * approve, nor a check approve a canceled or re-sent code. The statistics' sends, checks and
 * approvals are counted by migration 0023's triggers on those same writes (send_count, attempts,
 * status), so they count exactly what changed.
 */
import { and, desc, eq, gt, lte, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { verifications } from "../../db/schema";
import { emitEvents } from "../../delivery/webhook-events";
import type { Caller } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { codeHash, codeMatches, newCode } from "./codes";
import {
  admitVerificationSend,
  recordVerificationApproved,
  recordVerificationEnded,
  rememberPendingVerification,
} from "./limits";
import { type Locale, sendCodeBySms, sendCodeByWeChat, VerificationEnded } from "./sending";

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

/** How the tenant's limiter names a recipient's pending verification: mode, channel, recipient. */
function pendingKeyOf(caller: Caller, channel: StartInput["channel"], to: string): string {
  return `${caller.mode} ${channel} ${to}`;
}

/**
 * Starts a verification, or sends a fresh code on the pending one to the same recipient.
 *
 * One call to the tenant's VerificationLimiter (at the same time as the number's platform shard)
 * admits the send and names the verification it goes on: the pending one to this recipient, which
 * the limiter remembers, or a new one. Then one D1 batch writes the verification with the new
 * code's hash (the old code stops working) and the message's masked texts, and only then is the
 * message handed over: no code goes out that a check, which reads D1, could not find. The write
 * only re-sends on a verification still pending in D1; if it was approved, canceled or locked in
 * the meantime, nothing is written or sent and the code goes on a new verification instead.
 */
export async function startVerification(
  env: Env,
  caller: Caller,
  input: StartInput,
  now: number = Date.now(),
): Promise<{ row: VerificationRow; code: string }> {
  const tenantId = caller.tenant.id;
  const { to, country } = recipientOf(caller, input);
  const ttlSeconds = input.ttl_seconds ?? 600;
  const expiresAt = now + ttlSeconds * 1000;
  const key = pendingKeyOf(caller, input.channel, to);
  const admission = await admitVerificationSend(env, {
    tenantId,
    channel: input.channel === "sms" ? "sms" : "wechat",
    recipient: to,
    country,
    now,
    verification: {
      key,
      newId: newId("vrf", now),
      codeLength: input.code_length ?? null,
      expiresAt,
    },
  });
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
  const chosen = admission.verification ?? {
    id: newId("vrf", now),
    codeLength: input.code_length ?? 6,
    resend: false,
  };
  try {
    return await sendCode(env, caller, input, { to, country, expiresAt, ttlSeconds }, chosen, now);
  } catch (error) {
    if (!(error instanceof VerificationEnded)) {
      throw error;
    }
  }
  // The pending one ended a moment ago: this send (admitted and counted once) starts a new one.
  const fresh = { id: newId("vrf", now), codeLength: input.code_length ?? 6, resend: false };
  await rememberPendingVerification(env, tenantId, {
    key,
    id: fresh.id,
    codeLength: fresh.codeLength,
    expiresAt,
  });
  return sendCode(env, caller, input, { to, country, expiresAt, ttlSeconds }, fresh, now);
}

/** Writes the verification `chosen` with a new code, then sends the code. */
async function sendCode(
  env: Env,
  caller: Caller,
  input: StartInput,
  target: { to: string; country: string | null; expiresAt: number; ttlSeconds: number },
  chosen: { id: string; codeLength: number },
  now: number,
): Promise<{ row: VerificationRow; code: string }> {
  const { to, country, expiresAt, ttlSeconds } = target;
  const db = database(env.DB);
  const { id, codeLength } = chosen;
  const code = newCode(codeLength);
  const hash = await codeHash(env, id, code);
  const row: VerificationRow = {
    id,
    tenantId: caller.tenant.id,
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
    codeHash: hash,
    codeLength,
    sendCount: 1,
    expiresAt,
    updatedAt: now,
  };
  // A new verification, or the new code on the pending one (counted once: written again with the
  // same code, as a hand-over retried for stale settings does, it counts no second send). Only a
  // verification still pending and unexpired takes it; otherwise no row comes back.
  const write = (messageId: string | null) =>
    db
      .insert(verifications)
      .values({ ...row, messageId })
      .onConflictDoUpdate({
        target: verifications.id,
        set: {
          codeHash: hash,
          codeLength,
          expiresAt,
          updatedAt: now,
          sendCount: sql`CASE WHEN ${verifications.codeHash} = ${hash} THEN ${verifications.sendCount} ELSE ${verifications.sendCount} + 1 END`,
          ...(messageId === null ? {} : { messageId }),
        },
        setWhere: and(
          eq(verifications.tenantId, caller.tenant.id),
          eq(verifications.mode, caller.mode),
          eq(verifications.status, "pending"),
          gt(verifications.expiresAt, now),
        ),
      })
      .returning();
  const send = {
    verificationId: id,
    codeHash: hash,
    channel: input.channel,
    to,
    appId: input.app_id ?? null,
    templateId: input.template_id ?? null,
    locale: input.locale ?? (country === "CN" || caller.tenant.homeCountry === "CN" ? "zh" : "en"),
    code,
    ttlSeconds,
  } as const;
  const written =
    input.channel === "sms"
      ? await sendCodeBySms(env, caller, send, now, write)
      : await sendCodeByWeChat(env, caller, send, now, write);
  return { row: written, code };
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
        verificationId: approved.id,
        recipient: approved.recipient,
        country: approved.country,
        now,
      });
      await emitVerificationEvent(env, "verification.approved", approved, now);
      return { row: approved, valid: true };
    }
    return { row: await getVerification(env, caller, row.id, now), valid: false };
  }
  const counted = await env.DB.prepare(
    `UPDATE verifications SET attempts = attempts + 1, updated_at = ?1,
       status = CASE WHEN attempts + 1 >= ?2 THEN 'max_attempts_reached' ELSE status END
     WHERE id = ?3 AND status = 'pending' RETURNING status`,
  )
    .bind(now, MAX_CHECKS, row.id)
    .first<{ status: string }>();
  if (counted?.status === "max_attempts_reached") {
    // A re-send starts a new verification now (a write to a locked one would not take it anyway).
    await recordVerificationEnded(env, row.tenantId, row.id);
  }
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
  if (canceled) {
    await recordVerificationEnded(env, canceled.tenantId, canceled.id);
  }
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
