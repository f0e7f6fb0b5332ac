/**
 * Sending one code: the message that carries it goes through the normal send path (compose with
 * the tenant's rules and signature, hand-over to the tenant's dispatcher) in the transactional
 * lane, as kind `verification`. Its text is the tenant's approved template with a `{code}`
 * variable, or the default one in Chinese or English. The code is drawn and the message composed
 * before the send is admitted, so the tenant's limiter records the code, the message's id and its
 * masked texts in its admitting call (it writes them to D1 through its outbox; the send log takes
 * the masked text once the message is final); only then is the message handed over.
 */

import { newCode } from "../../delivery/verification-codes";
import type { MaskedTexts, VerificationRow } from "../../delivery/verification-records";
import type { Caller } from "../../domain/caller";
import { renderTemplate } from "../../domain/templates";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { withCurrentSettings } from "../accounts/tenants";
import { loadScreener } from "../content/sensitive-words";
import { type ServingTemplate, servingTemplate } from "../content/serving-templates";
import { acceptAutoMessage } from "../messaging/best-channel";
import { composeMessage } from "../messaging/compose";
import { handOver, refusal } from "../messaging/messages";
import { smsOutboxMessage } from "../messaging/outbox-message";
import { acceptWeChatMessage, summaryOf } from "../wechat/messages";
import { defaultTemplate, type Locale } from "./default-templates";
import type { PlatformReservation } from "./limits";

export type { Locale };

export interface CodeSend {
  channel: "sms" | "wechat" | "auto";
  /** E.164 for SMS; a contact's external id or an openid for WeChat and auto. */
  to: string;
  appId: string | null;
  templateId: string | null;
  locale: Locale;
  /** The code's length as asked, else 6 (the limiter may ask for a pending verification's). */
  codeLength: number;
  ttlSeconds: number;
}

/** A code admitted and recorded: the verification it went on and the send's reservations. */
export interface AdmittedCode {
  row: VerificationRow;
  reservation: string;
  platform?: PlatformReservation;
}

/** Takes back an admitted code whose message was refused before anything was sent. */
export type CancelCode = (admitted: AdmittedCode) => Promise<void>;

/**
 * Admits the send of `code` and records it with the message's masked texts (null when the
 * message's id is known only later), or answers the length a pending verification keeps codes
 * at (draw again); a refusal is thrown (429).
 */
export type AdmitCode = (
  code: string,
  masked: Omit<MaskedTexts, "verificationId"> | null,
) => Promise<AdmittedCode | { recode: number }>;

/** Records the masked texts (and, for WeChat, the message) of a code already admitted. */
export type AttachMessage = (row: VerificationRow, masked: MaskedTexts) => Promise<void>;

function minutesOf(send: CodeSend): string {
  return String(Math.ceil(send.ttlSeconds / 60));
}

function mask(text: string, code: string): string {
  return text.split(code).join("*".repeat(code.length));
}

/** The variables a template with `{{code}}` (and perhaps `{{minutes}}`) is sent with. */
function codeVariables(
  template: ServingTemplate,
  send: CodeSend,
  code: string,
): Record<string, string> {
  if (!template.variables.some((v) => v.name === "code")) {
    throw new ApiError("unprocessable-entity", "The template has no {{code}} variable.", {
      errors: [
        {
          pointer: "/template_id",
          detail: "needs a {{code}} variable for the code",
        },
      ],
    });
  }
  const variables: Record<string, string> = { code };
  if (template.variables.some((v) => v.name === "minutes")) {
    variables.minutes = minutesOf(send);
  }
  return variables;
}

/** The tenant's template named by `template_id` (SMS only), else the default in the locale. */
async function smsTemplate(env: Env, caller: Caller, send: CodeSend): Promise<ServingTemplate> {
  return send.templateId !== null && send.channel === "sms"
    ? servingTemplate(env, caller.tenant.id, send.templateId)
    : defaultTemplate(env, caller.tenant.id, send.locale);
}

/**
 * What the send log keeps of the message once it is final, made while the code is at hand:
 * `texts.sms` masked (the text as sent, or its end: the trigger of migration 0023 keeps whatever
 * signature stands before it) and, for a message that goes by WeChat, its summary masked.
 */
function maskedTexts(
  tenantId: string,
  code: string,
  messageId: string,
  texts: { sms: string; wechat: string | null },
  now: number,
): Omit<MaskedTexts, "verificationId"> {
  return {
    messageId,
    tenantId,
    maskedBody: mask(texts.sms, code),
    maskedWechat: texts.wechat === null ? null : mask(texts.wechat, code),
    createdAt: now,
  };
}

/** Admits `code`, drawing it again at the length a pending verification asks for. */
async function admitDrawn(
  admit: AdmitCode,
  first: string,
  compose: (code: string) => Omit<MaskedTexts, "verificationId"> | null,
): Promise<AdmittedCode & { code: string }> {
  let code = first;
  for (let tries = 0; ; tries++) {
    const answer = await admit(code, compose(code));
    if (!("recode" in answer)) {
      return { ...answer, code };
    }
    if (tries >= 2) {
      throw new Error("verification limiter: code length kept changing");
    }
    code = newCode(answer.recode);
  }
}

/**
 * Sends the code by SMS: composed, then admitted and recorded with the message's masked texts in
 * one call to the tenant's limiter, then handed over. Answers the verification and the code.
 */
export function sendCodeBySms(
  env: Env,
  caller: Caller,
  send: CodeSend,
  now: number,
  ops: { admit: AdmitCode; attach: AttachMessage },
): Promise<{ row: VerificationRow; code: string }> {
  // One id for the message, also when stale settings make the hand-over run again.
  const id = newId("msg", now);
  let admitted: (AdmittedCode & { code: string; maskedBody: string }) | undefined;
  return withCurrentSettings(env, caller, async (current) => {
    const [template, screen] = await Promise.all([
      smsTemplate(env, current, send),
      loadScreener(env, current.tenant.id),
    ]);
    const messageWith = (code: string, verificationId: string) => {
      const content = { template, variables: codeVariables(template, send, code) };
      const composition = composeMessage(current.tenant, screen, send.to, content, {
        smartEncoding: false,
        pointer: "",
      });
      if (!composition.ok) {
        throw refusal(composition.errors, composition.hits);
      }
      const composed = { ...composition.value, kind: "verification" as const };
      return smsOutboxMessage(
        {
          tenantId: current.tenant.id,
          mode: current.mode,
          sender: null,
          metadata: { verification_id: verificationId },
          idempotencyKey: null,
          createdAt: now,
          sendAt: now,
          batchId: null,
          template,
          lane: "transactional",
        },
        id,
        send.to,
        composed,
      );
    };
    // Composed once per code; the verification's id goes into its metadata once admitted.
    const composed = new Map<string, ReturnType<typeof messageWith>>();
    const composedWith = (code: string) => {
      const message = composed.get(code) ?? messageWith(code, "");
      composed.set(code, message);
      return message;
    };
    const masksOf = (code: string) =>
      maskedTexts(current.tenant.id, code, id, { sms: composedWith(code).body, wechat: null }, now);
    if (admitted) {
      // A hand-over run again under newer settings: the same code, perhaps in another text.
      const masked = masksOf(admitted.code);
      if (masked.maskedBody !== admitted.maskedBody) {
        await ops.attach(admitted.row, { ...masked, verificationId: admitted.row.id });
      }
    } else {
      const got = await admitDrawn(ops.admit, newCode(send.codeLength), masksOf);
      admitted = { ...got, maskedBody: masksOf(got.code).maskedBody };
    }
    const message = {
      ...composedWith(admitted.code),
      metadata: { verification_id: admitted.row.id },
    };
    // A hand-over that fails may still have been taken: the recorded code stays (a re-send
    // replaces it), so a code that went out always works.
    await handOver(env, current, message, null, undefined);
    return { row: admitted.row, code: admitted.code };
  });
}

/**
 * Sends the code as a WeChat template message (`template_id` names the WeChat template, whose
 * data gets `code` and `minutes`), or by the best channel for `auto`, whose SMS part (sent to a
 * contact that does not follow the account, or as the fallback) is the default template. `to` is
 * a contact's external id, else an openid.
 */
export async function sendCodeByWeChat(
  env: Env,
  caller: Caller,
  send: CodeSend,
  now: number,
  ops: { admit: AdmitCode; attach: AttachMessage; cancel: CancelCode },
): Promise<{ row: VerificationRow; code: string }> {
  if (send.appId === null || send.templateId === null) {
    throw new ApiError(
      "unprocessable-entity",
      "A code by WeChat needs app_id and template_id (a WeChat template with a {{code.DATA}} field).",
      {
        errors: [
          {
            pointer: send.appId === null ? "/app_id" : "/template_id",
            detail: "required",
          },
        ],
      },
    );
  }
  const appId = send.appId;
  const templateId = send.templateId;
  const sms = await defaultTemplate(env, caller.tenant.id, send.locale);
  codeVariables(sms, send, "");
  // The code is recorded before the message is accepted (its id is known only then).
  const admitted = await admitDrawn(ops.admit, newCode(send.codeLength), () => null);
  const { row, code } = admitted;
  const wechat = {
    type: "template" as const,
    wechat_template_id: templateId,
    data: { code: { value: code }, minutes: { value: minutesOf(send) } },
  };
  const metadata = { verification_id: row.id };
  const variables = codeVariables(sms, send, code);
  const accepted = await acceptCode().catch(async (error: unknown) => {
    // Refused (no such app or binding, a test key's limits, …): nothing went, so nothing counts.
    if (error instanceof ApiError && error.status < 500) {
      await ops.cancel(admitted);
    }
    throw error;
  });
  async function acceptCode() {
    return send.channel === "auto"
      ? await acceptAutoMessage(
          env,
          caller,
          {
            contact: send.to,
            app_id: appId,
            wechat,
            sms: { template_id: sms.id, variables },
            metadata,
          },
          undefined,
          now,
        )
      : await acceptWeChatMessage(
          env,
          caller,
          {
            app_id: appId,
            ...((await isContact(env, caller, send.to))
              ? { contact: send.to }
              : { openid: send.to }),
            wechat,
            metadata,
          },
          undefined,
          now,
        );
  }
  const texts = {
    sms: renderTemplate(sms.compiled, variables),
    wechat: summaryOf(wechat),
  };
  const masked = maskedTexts(caller.tenant.id, code, accepted.message.id, texts, now);
  await ops.attach(row, { ...masked, verificationId: row.id });
  return { row: { ...row, messageId: accepted.message.id }, code };
}

async function isContact(env: Env, caller: Caller, externalId: string): Promise<boolean> {
  const row = await env.DB.prepare(
    "SELECT 1 AS found FROM contacts WHERE tenant_id = ? AND external_id = ?",
  )
    .bind(caller.tenant.id, externalId)
    .first();
  return row !== null;
}
