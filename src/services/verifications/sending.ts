/**
 * Sending one code: the message that carries it goes through the normal send path (compose with
 * the tenant's rules and signature, hand-over to the tenant's dispatcher) in the transactional
 * lane, as kind `verification`. Its text is the tenant's approved template with a `{code}`
 * variable, or the default one in Chinese or English. Before it is handed over, its masked text
 * is stored (verification_messages), which the send log takes once the message is final.
 */
import { database } from "../../db/client";
import { verificationMessages } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { withCurrentSettings } from "../accounts/tenants";
import { loadScreener } from "../content/sensitive-words";
import { servingTemplate } from "../content/serving-templates";
import { acceptAutoMessage } from "../messaging/best-channel";
import type { Content } from "../messaging/compose";
import { composeMessage } from "../messaging/compose";
import { handOver, refusal } from "../messaging/messages";
import { smsOutboxMessage } from "../messaging/outbox-message";
import { acceptWeChatMessage } from "../wechat/messages";

export type Locale = "zh" | "en";

/** The default texts; `{code}` and `{minutes}` are filled in. The signature rules still apply. */
export const DEFAULT_TEXTS: Record<Locale, string> = {
  zh: "您的验证码是{code}，{minutes}分钟内有效，请勿告诉他人。",
  en: "Your verification code is {code}. It expires in {minutes} minutes. Do not share it.",
};

export interface CodeSend {
  verificationId: string;
  channel: "sms" | "wechat" | "auto";
  /** E.164 for SMS; a contact's external id or an openid for WeChat and auto. */
  to: string;
  appId: string | null;
  templateId: string | null;
  locale: Locale;
  code: string;
  ttlSeconds: number;
}

function defaultText(locale: Locale, code: string, ttlSeconds: number): string {
  return DEFAULT_TEXTS[locale]
    .replace("{code}", code)
    .replace("{minutes}", String(Math.ceil(ttlSeconds / 60)));
}

function mask(text: string, code: string): string {
  return text.split(code).join("*".repeat(code.length));
}

async function smsContent(env: Env, caller: Caller, send: CodeSend): Promise<Content> {
  if (send.templateId === null || send.channel !== "sms") {
    return { body: defaultText(send.locale, send.code, send.ttlSeconds) };
  }
  const template = await servingTemplate(env, caller.tenant.id, send.templateId);
  if (!template.variables.some((v) => v.name === "code")) {
    throw new ApiError("unprocessable-entity", "The template has no {code} variable.", {
      errors: [{ pointer: "/template_id", detail: "needs a {code} variable for the code" }],
    });
  }
  const variables: Record<string, unknown> = { code: send.code };
  if (template.variables.some((v) => v.name === "minutes")) {
    variables.minutes = String(Math.ceil(send.ttlSeconds / 60));
  }
  return { template, variables };
}

async function rememberMasked(
  env: Env,
  tenantId: string,
  send: CodeSend,
  messageId: string,
  text: string,
  now: number,
): Promise<void> {
  await database(env.DB)
    .insert(verificationMessages)
    .values({
      messageId,
      verificationId: send.verificationId,
      tenantId,
      maskedBody: mask(text, send.code),
      createdAt: now,
    });
}

/** Sends the code by SMS; answers the message's id. */
export function sendCodeBySms(
  env: Env,
  caller: Caller,
  send: CodeSend,
  now: number,
): Promise<string> {
  return withCurrentSettings(env, caller, async (current) => {
    const [content, screen] = await Promise.all([
      smsContent(env, current, send),
      loadScreener(env, current.tenant.id),
    ]);
    const composition = composeMessage(current.tenant, screen, send.to, content, {
      smartEncoding: false,
      pointer: "",
    });
    if (!composition.ok) {
      throw refusal(composition.errors, composition.hits);
    }
    const composed = { ...composition.value, kind: "verification" as const };
    const id = newId("msg", now);
    const message = smsOutboxMessage(
      {
        tenantId: current.tenant.id,
        mode: current.mode,
        sender: null,
        metadata: { verification_id: send.verificationId },
        idempotencyKey: null,
        createdAt: now,
        sendAt: now,
        batchId: null,
        template: "template" in content ? content.template : null,
        lane: "transactional",
      },
      id,
      send.to,
      composed,
    );
    await rememberMasked(env, current.tenant.id, send, id, message.body, now);
    await handOver(env, current, message, null, undefined);
    return id;
  });
}

/**
 * Sends the code as a WeChat template message (`template_id` names the WeChat template, whose
 * data gets `code` and `minutes`), or by the best channel for `auto` (the SMS part is the default
 * text). `to` is a contact's external id, else an openid.
 */
export async function sendCodeByWeChat(
  env: Env,
  caller: Caller,
  send: CodeSend,
  now: number,
): Promise<string> {
  if (send.appId === null || send.templateId === null) {
    throw new ApiError(
      "unprocessable-entity",
      "A code by WeChat needs app_id and template_id (a WeChat template with a {{code.DATA}} field).",
      {
        errors: [{ pointer: send.appId === null ? "/app_id" : "/template_id", detail: "required" }],
      },
    );
  }
  const minutes = String(Math.ceil(send.ttlSeconds / 60));
  const wechat = {
    type: "template" as const,
    wechat_template_id: send.templateId,
    data: { code: { value: send.code }, minutes: { value: minutes } },
  };
  const metadata = { verification_id: send.verificationId };
  const text = defaultText(send.locale, send.code, send.ttlSeconds);
  const accepted =
    send.channel === "auto"
      ? await acceptAutoMessage(
          env,
          caller,
          { contact: send.to, app_id: send.appId, wechat, sms: { body: text }, metadata },
          undefined,
          now,
        )
      : await acceptWeChatMessage(
          env,
          caller,
          {
            app_id: send.appId,
            ...((await isContact(env, caller, send.to))
              ? { contact: send.to }
              : { openid: send.to }),
            wechat,
            metadata,
          },
          undefined,
          now,
        );
  await rememberMasked(env, caller.tenant.id, send, accepted.message.id, text, now);
  return accepted.message.id;
}

async function isContact(env: Env, caller: Caller, externalId: string): Promise<boolean> {
  const row = await env.DB.prepare(
    "SELECT 1 AS found FROM contacts WHERE tenant_id = ? AND external_id = ?",
  )
    .bind(caller.tenant.id, externalId)
    .first();
  return row !== null;
}
