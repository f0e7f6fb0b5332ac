/**
 * Sending one code: the message that carries it goes through the normal send path (compose with
 * the tenant's rules and signature, hand-over to the tenant's dispatcher) in the transactional
 * lane, as kind `verification`. Its text is the tenant's approved template with a `{code}`
 * variable, or the default one in Chinese or English. Before it is handed over, its masked text
 * is stored (verification_messages), which the send log takes once the message is final.
 */
import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { database } from "../../db/client";
import { verificationMessages, verifications } from "../../db/schema";
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

export type { Locale };

export interface CodeSend {
  verificationId: string;
  /** The code's HMAC (codes.ts), which the verification's row must hold for the code to go. */
  codeHash: string;
  channel: "sms" | "wechat" | "auto";
  /** E.164 for SMS; a contact's external id or an openid for WeChat and auto. */
  to: string;
  appId: string | null;
  templateId: string | null;
  locale: Locale;
  code: string;
  ttlSeconds: number;
}

function minutesOf(send: CodeSend): string {
  return String(Math.ceil(send.ttlSeconds / 60));
}

function mask(text: string, code: string): string {
  return text.split(code).join("*".repeat(code.length));
}

/** The variables a template with `{{code}}` (and perhaps `{{minutes}}`) is sent with. */
function codeVariables(template: ServingTemplate, send: CodeSend): Record<string, string> {
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
  const variables: Record<string, string> = { code: send.code };
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
 * The verification's own write, with the id of the message that carries its code: an upsert that
 * answers the row (RETURNING), or no row when the verification is no longer pending.
 */
export type VerificationWrite = (messageId: string | null) => BatchItem<"sqlite">;

/**
 * The verification the limiter named for this send is no longer pending in D1 (approved,
 * canceled or locked a moment before): nothing was sent; the start goes again on a new one.
 */
export class VerificationEnded extends Error {
  constructor(readonly verificationId: string) {
    super(`verification ${verificationId} is no longer pending`);
  }
}

/**
 * What the send log keeps of the message once it is final, made while the code is at hand:
 * `texts.sms` masked (the text as sent, or its end: the trigger of migration 0023 keeps whatever
 * signature stands before it) and, for a message that goes by WeChat, its summary masked.
 */
function maskedTexts(
  tenantId: string,
  send: CodeSend,
  messageId: string,
  texts: { sms: string; wechat: string | null },
  now: number,
): typeof verificationMessages.$inferInsert {
  return {
    messageId,
    verificationId: send.verificationId,
    tenantId,
    maskedBody: mask(texts.sms, send.code),
    maskedWechat: texts.wechat === null ? null : mask(texts.wechat, send.code),
    createdAt: now,
  };
}

/**
 * The masked texts' row, kept only while the verification holds this code (a select of constants
 * from the verification's row with that id and hash: one row or none).
 */
function maskedInsertIfCurrent(
  env: Env,
  send: CodeSend,
  masked: typeof verificationMessages.$inferInsert,
) {
  const db = database(env.DB);
  const { messageId: _, ...rest } = masked;
  return db
    .insert(verificationMessages)
    .select(
      db
        .select({
          messageId: sql`${masked.messageId}`.as("message_id"),
          verificationId: sql`${masked.verificationId}`.as("verification_id"),
          tenantId: sql`${masked.tenantId}`.as("tenant_id"),
          maskedBody: sql`${masked.maskedBody}`.as("masked_body"),
          maskedWechat: sql`${masked.maskedWechat ?? null}`.as("masked_wechat"),
          createdAt: sql`${masked.createdAt}`.as("created_at"),
        })
        .from(verifications)
        .where(
          and(eq(verifications.id, send.verificationId), eq(verifications.codeHash, send.codeHash)),
        ),
    )
    .onConflictDoUpdate({ target: verificationMessages.messageId, set: rest });
}

/**
 * The verification's write with the new code and the message's masked texts, in one batch (one
 * round trip), before the message is handed over. When the verification was no longer pending,
 * neither is written and VerificationEnded is thrown: nothing has been sent.
 */
async function recordBeforeSend(
  env: Env,
  send: CodeSend,
  write: VerificationWrite,
  masked: typeof verificationMessages.$inferInsert,
): Promise<Verification> {
  const [written] = await database(env.DB).batch([
    write(masked.messageId),
    maskedInsertIfCurrent(env, send, masked),
  ]);
  return writtenRow(send, written);
}

type Verification = typeof verifications.$inferSelect;

/** The row the verification's write answered, or VerificationEnded when it wrote none. */
function writtenRow(send: CodeSend, written: unknown): Verification {
  const row = Array.isArray(written) ? (written[0] as Verification | undefined) : undefined;
  if (!row) {
    throw new VerificationEnded(send.verificationId);
  }
  return row;
}

/** After a message was accepted: its id on the verification, and its masked texts. */
async function recordAfterSend(
  env: Env,
  send: CodeSend,
  masked: typeof verificationMessages.$inferInsert,
): Promise<void> {
  const db = database(env.DB);
  const { messageId: _, ...rest } = masked;
  await db.batch([
    db
      .update(verifications)
      .set({ messageId: masked.messageId })
      .where(eq(verifications.id, send.verificationId)),
    db
      .insert(verificationMessages)
      .values(masked)
      .onConflictDoUpdate({ target: verificationMessages.messageId, set: rest }),
  ]);
}

/** Sends the code by SMS; answers the verification as written, with the message's id. */
export function sendCodeBySms(
  env: Env,
  caller: Caller,
  send: CodeSend,
  now: number,
  write: VerificationWrite,
): Promise<Verification> {
  // One id for the message, also when stale settings make the hand-over run again.
  const id = newId("msg", now);
  return withCurrentSettings(env, caller, async (current) => {
    const [template, screen] = await Promise.all([
      smsTemplate(env, current, send),
      loadScreener(env, current.tenant.id),
    ]);
    const content = { template, variables: codeVariables(template, send) };
    const composition = composeMessage(current.tenant, screen, send.to, content, {
      smartEncoding: false,
      pointer: "",
    });
    if (!composition.ok) {
      throw refusal(composition.errors, composition.hits);
    }
    const composed = { ...composition.value, kind: "verification" as const };
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
        template,
        lane: "transactional",
      },
      id,
      send.to,
      composed,
    );
    // Written before the hand-over: no code goes out that a check could not find. (Upserts: a
    // hand-over refused for stale settings runs this again with the same id.)
    const texts = { sms: message.body, wechat: null };
    const row = await recordBeforeSend(
      env,
      send,
      write,
      maskedTexts(current.tenant.id, send, id, texts, now),
    );
    await handOver(env, current, message, null, undefined);
    return row;
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
  write: VerificationWrite,
): Promise<Verification> {
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
  const wechat = {
    type: "template" as const,
    wechat_template_id: send.templateId,
    data: { code: { value: send.code }, minutes: { value: minutesOf(send) } },
  };
  const metadata = { verification_id: send.verificationId };
  const sms = await defaultTemplate(env, caller.tenant.id, send.locale);
  const variables = codeVariables(sms, send);
  // The new code is written before the message is accepted (its id is known only then).
  const row = writtenRow(send, await write(null));
  const accepted =
    send.channel === "auto"
      ? await acceptAutoMessage(
          env,
          caller,
          {
            contact: send.to,
            app_id: send.appId,
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
  const texts = {
    sms: renderTemplate(sms.compiled, variables),
    wechat: summaryOf(wechat),
  };
  await recordAfterSend(
    env,
    send,
    maskedTexts(caller.tenant.id, send, accepted.message.id, texts, now),
  );
  return { ...row, messageId: accepted.message.id };
}

async function isContact(env: Env, caller: Caller, externalId: string): Promise<boolean> {
  const row = await env.DB.prepare(
    "SELECT 1 AS found FROM contacts WHERE tenant_id = ? AND external_id = ?",
  )
    .bind(caller.tenant.id, externalId)
    .first();
  return row !== null;
}
