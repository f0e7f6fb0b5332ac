/**
 * Verifications (`vrf_`): start (or re-send inside the ttl), check, read, cancel. The tenant's
 * VerificationLimiter is their authority while they are live: it admits every send (limits.ts)
 * before any provider can be called and records the code on the verification in the same call (a
 * refusal is a 429 naming the rule, with Retry-After); checks, cancels and expiry are single
 * steps there too, so a code works once, five wrong checks end it, and two checks at once cannot
 * both approve. It writes every change to D1 through its outbox right after (the statistics'
 * triggers of migrations 0023 and 0027 count those writes once each); D1 answers for the
 * verifications the object no longer holds (ended over a day ago).
 */
import { and, desc, eq, lte } from "drizzle-orm";
import { database } from "../../db/client";
import { contacts, verifications } from "../../db/schema";
import { codeHash } from "../../delivery/verification-codes";
import {
  type VerificationLimiterStub,
  verificationLimiterOf,
} from "../../delivery/verification-limiters";
import {
  type CodeToRecord,
  type VerificationRow,
  verificationView,
} from "../../delivery/verification-records";
import { emitEvents } from "../../delivery/webhook-events";
import type { Caller } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { boundOpenid } from "../contacts/bindings";
import { admitVerificationSend, cancelVerificationSend } from "./limits";
import { type AdmitCode, type Locale, sendCodeBySms, sendCodeByWeChat } from "./sending";

export {
  MAX_CHECKS,
  type VerificationRow,
  verificationView,
} from "../../delivery/verification-records";

export interface StartInput {
  to: string;
  channel: "sms" | "wechat" | "auto";
  app_id?: string;
  template_id?: string;
  code_length?: number;
  ttl_seconds?: number;
  locale?: Locale;
}

const DAY_MS = 86_400_000;

/** The modes a caller reaches: a key only its own (as with messages); a dashboard user both. */
function modesOf(caller: Caller): ("live" | "test")[] {
  return caller.seesBothModes ? ["live", "test"] : [caller.mode];
}

/**
 * Asks each mode's limiter the caller reaches (each mode has its own: limits.ts), its own mode
 * first, for the first answer there is.
 */
async function firstAnswer<T>(
  env: Env,
  caller: Caller,
  ask: (limiter: VerificationLimiterStub, modes: ("live" | "test")[]) => Promise<T | undefined>,
): Promise<T | undefined> {
  const others = modesOf(caller).filter((mode) => mode !== caller.mode);
  for (const mode of [caller.mode, ...others]) {
    const answer = await ask(verificationLimiterOf(env, caller.tenant.id, mode), [mode]);
    if (answer !== undefined) {
      return answer;
    }
  }
  return undefined;
}

function modeOf(caller: Caller) {
  return caller.seesBothModes ? undefined : eq(verifications.mode, caller.mode);
}

/**
 * Who a code goes to: `to` (normalised for SMS) keys the per-recipient windows; `phone` is the
 * number the phone rules (platform cap, range, country, the guard) count it against. For `auto`
 * that is the contact's number, if it has one: the code may go there by SMS (the contact does not
 * follow the account, or WeChat refuses), so `auto` is no way around those rules.
 */
async function recipientOf(
  env: Env,
  caller: Caller,
  input: StartInput,
): Promise<{ to: string; recipient: string; country: string | null; phone: string | null }> {
  if (input.channel === "wechat") {
    // The windows count the openid (a contact's binding in the app, else `to` is one), so
    // codes to a contact and to its openid are codes to one recipient.
    const openid = await boundOpenid(env, caller, input.to, input.app_id ?? "");
    return { to: input.to, recipient: openid ?? input.to, country: null, phone: null };
  }
  if (input.channel === "auto") {
    const contact = await database(env.DB).query.contacts.findFirst({
      columns: { phone: true },
      where: and(eq(contacts.tenantId, caller.tenant.id), eq(contacts.externalId, input.to)),
    });
    const phone = contact?.phone ? normalisePhone(contact.phone, caller.tenant.homeCountry) : null;
    return phone?.ok
      ? { to: input.to, recipient: input.to, country: phone.country, phone: phone.e164 }
      : { to: input.to, recipient: input.to, country: null, phone: null };
  }
  const phone = normalisePhone(input.to, caller.tenant.homeCountry);
  if (!phone.ok) {
    throw new ApiError("unprocessable-entity", `to: ${phone.error.detail}`, {
      errors: [{ pointer: "/to", detail: phone.error.detail }],
    });
  }
  return { to: phone.e164, recipient: phone.e164, country: phone.country, phone: phone.e164 };
}

/** How the tenant's limiter finds a recipient's pending verification: mode, channel, recipient. */
function pendingKeyOf(caller: Caller, channel: StartInput["channel"], to: string): string {
  return `${caller.mode} ${channel} ${to}`;
}

/**
 * Starts a verification, or sends a fresh code on the pending one to the same recipient.
 *
 * The code is drawn and its message composed first; then one call to the tenant's
 * VerificationLimiter (at the same time as the number's platform shard) admits the send and
 * records the code's hash, the message's id and its masked texts on the verification it goes on
 * (the pending one to this recipient, whose old code stops working, or a new one); only then is
 * the message handed over, so no code goes out that a check could not find. No D1 write waits:
 * the limiter's outbox carries the rows to D1.
 */
export async function startVerification(
  env: Env,
  caller: Caller,
  input: StartInput,
  now: number = Date.now(),
): Promise<{ row: VerificationRow; code: string }> {
  const tenantId = caller.tenant.id;
  const { to, recipient, country, phone } = await recipientOf(env, caller, input);
  const ttlSeconds = input.ttl_seconds ?? 600;
  const expiresAt = now + ttlSeconds * 1000;
  const key = pendingKeyOf(caller, input.channel, to);
  const newVerificationId = newId("vrf", now);
  const admit: AdmitCode = async (code, masked) => {
    const verification: CodeToRecord = {
      key,
      newId: newVerificationId,
      codeLength: input.code_length ?? null,
      code,
      newHash: await codeHash(env, newVerificationId, code),
      expiresAt,
      base: {
        tenantId,
        channel: input.channel,
        to,
        // The number an `auto` code may go to by SMS: its approval counts toward that range's
        // and country's conversion, as its send counted there.
        recipient: phone ?? recipient,
        country,
        appId: input.app_id ?? null,
        mode: caller.mode,
      },
      masked,
    };
    const admission = await admitVerificationSend(env, {
      tenantId,
      mode: caller.mode,
      channel: input.channel === "sms" ? "sms" : "wechat",
      recipient,
      phone,
      country,
      now,
      verification,
    });
    if (!admission.ok) {
      if (admission.limit === null) {
        return { recode: admission.recode };
      }
      throw new ApiError(
        "rate-limited",
        `Verification limit ${admission.limit} reached for ${to}; retry after ${admission.retryAfterSeconds} s.`,
        {
          headers: { "Retry-After": String(admission.retryAfterSeconds) },
          extensions: { limit: admission.limit },
        },
      );
    }
    if (!admission.verification) {
      throw new Error("verification limiter: admitted a code without recording it");
    }
    return {
      row: admission.verification,
      reservation: admission.reservation,
      ...(admission.platform ? { platform: admission.platform } : {}),
    };
  };
  const limiter = verificationLimiterOf(env, tenantId, caller.mode);
  const ops = {
    admit,
    attach: async (
      row: VerificationRow,
      masked: Parameters<typeof limiter.attach>[0]["masked"],
    ) => {
      await limiter.attach({ id: row.id, codeHash: row.codeHash, masked, now });
    },
    cancel: (admitted: Parameters<typeof cancelVerificationSend>[3]) =>
      cancelVerificationSend(env, tenantId, caller.mode, admitted),
  };
  const send = {
    channel: input.channel,
    to,
    appId: input.app_id ?? null,
    templateId: input.template_id ?? null,
    locale: input.locale ?? (country === "CN" || caller.tenant.homeCountry === "CN" ? "zh" : "en"),
    codeLength: input.code_length ?? 6,
    ttlSeconds,
  } as const;
  return input.channel === "sms"
    ? sendCodeBySms(env, caller, send, now, ops)
    : sendCodeByWeChat(env, caller, send, now, ops);
}

/** A verification's row in D1 (one the tenant's limiter no longer holds). */
async function storedRow(
  env: Env,
  caller: Caller,
  query: { id?: string; to?: string },
): Promise<VerificationRow | undefined> {
  const db = database(env.DB);
  if (query.id !== undefined) {
    return db.query.verifications.findFirst({
      where: and(
        eq(verifications.tenantId, caller.tenant.id),
        eq(verifications.id, query.id),
        modeOf(caller),
      ),
    });
  }
  return db.query.verifications.findFirst({
    where: and(
      eq(verifications.tenantId, caller.tenant.id),
      eq(verifications.to, query.to ?? ""),
      modeOf(caller),
    ),
    orderBy: desc(verifications.createdAt),
  });
}

/** As D1 last had it, expired if its time has passed (the view says so; D1 is not changed). */
function asStored(row: VerificationRow, now: number): VerificationRow {
  return row.status === "pending" && row.expiresAt <= now ? { ...row, status: "expired" } : row;
}

/** The tenant's verification, or a 404 identical to a missing one. */
export async function getVerification(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<VerificationRow> {
  const live = await firstAnswer(env, caller, (limiter, modes) => limiter.read({ id, modes, now }));
  const row = live ?? (await storedRow(env, caller, { id }));
  if (!row) {
    throw new ApiError("not-found", `No verification ${id}.`);
  }
  return live ? row : asStored(row, now);
}

/**
 * Expires verifications that D1 still has pending a day past their time (left by an object that
 * no longer holds them; the objects expire their own, on time, and write that here).
 */
export async function expireDueVerifications(env: Env, now: number = Date.now()): Promise<number> {
  const expired = await database(env.DB)
    .update(verifications)
    .set({ status: "expired", updatedAt: now })
    .where(and(eq(verifications.status, "pending"), lte(verifications.expiresAt, now - DAY_MS)))
    .returning();
  if (expired.length > 0) {
    await emitEvents(
      env,
      expired.map((row) => ({
        type: "verification.expired" as const,
        tenantId: row.tenantId,
        messageId: `verification:${row.id}`,
        occurredAt: now,
        data: verificationView(row, now),
      })),
    );
  }
  return expired.length;
}

export interface CheckResult {
  row: VerificationRow;
  valid: boolean;
}

/** Checks a code against the verification `id`, or the latest one to `to`. */
export async function checkVerification(
  env: Env,
  caller: Caller,
  input: { id?: string; to?: string; code: string },
  now: number = Date.now(),
): Promise<CheckResult> {
  let to: string | undefined;
  if (input.id === undefined) {
    const raw = input.to ?? "";
    const phone = normalisePhone(raw, caller.tenant.homeCountry);
    to = phone.ok ? phone.e164 : raw;
  }
  const query = input.id !== undefined ? { id: input.id } : { to: to ?? "" };
  const hash = input.id !== undefined ? await codeHash(env, input.id, input.code) : undefined;
  const answer = await firstAnswer(env, caller, (limiter, modes) =>
    limiter.check({ ...query, modes, code: input.code, ...(hash ? { hash } : {}), now }),
  );
  if (answer) {
    return answer;
  }
  // Ended over a day ago: no code works on it any more.
  const row = await storedRow(env, caller, query);
  if (!row) {
    throw new ApiError(
      "not-found",
      input.id !== undefined ? `No verification ${input.id}.` : `No verification to ${input.to}.`,
    );
  }
  return { row: asStored(row, now), valid: false };
}

export async function cancelVerification(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<VerificationRow> {
  const answer = await firstAnswer(env, caller, (limiter, modes) =>
    limiter.cancelVerification({ id, modes, now }),
  );
  const row = answer?.row ?? (await storedRow(env, caller, { id }));
  if (!row) {
    throw new ApiError("not-found", `No verification ${id}.`);
  }
  if (!answer || answer.ended) {
    throw new ApiError(
      "conflict",
      `Verification ${id} is ${asStored(row, now).status}; only a pending one cancels.`,
    );
  }
  return row;
}
