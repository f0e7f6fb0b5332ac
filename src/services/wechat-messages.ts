/**
 * WeChat messages through the same path as SMS (`channel: "wechat"` on POST /v1/messages): to an
 * openid or a contact bound in the account, as a template message, or as a customer-service
 * message (text, image, news) inside the 48-hour window the follower's last interaction opened,
 * within WeChat's quota for that window. The dispatcher releases it; the consumer calls WeChat
 * through the account's token authority.
 */
import { and, count, eq, gte, ne, sql } from "drizzle-orm";
import { database } from "../db/client";
import { contacts, contactWeChatBindings, messages, wechatFollowers } from "../db/schema";
import type { AcceptedMessage, OutboxMessage } from "../durable-objects/dispatcher-types";
import { newId } from "../lib/ids";
import { ApiError } from "../lib/problem";
import type { Caller } from "../middleware/context";
import type { SmsFallback } from "./best-channel";
import { handOver, scheduledTime } from "./messages";
import { getWeChatApp } from "./wechat-apps";

export const SERVICE_WINDOW_MS = 48 * 60 * 60 * 1000;
/** Customer-service messages WeChat takes per follower per window (its documented quota). */
export const SERVICE_WINDOW_QUOTA = 5;

export type WeChatContent =
  | {
      type: "template";
      template_id: string;
      data: Record<string, { value: string; color?: string }>;
      url?: string;
      miniprogram?: { appid: string; pagepath?: string };
    }
  | { type: "text"; content: string }
  | { type: "image"; media_id: string }
  | {
      type: "news";
      articles: { title: string; description?: string; url: string; picurl?: string }[];
    };

export interface WeChatSendInput {
  app_id: string;
  openid?: string;
  contact?: string;
  wechat: WeChatContent;
  metadata?: Record<string, string>;
  send_at?: string;
}

function unprocessable(pointer: string, detail: string): ApiError {
  return new ApiError("unprocessable-entity", detail, { errors: [{ pointer, detail }] });
}

/** The openid: given, or the contact's binding in this account. */
async function openidOf(env: Env, caller: Caller, input: WeChatSendInput): Promise<string> {
  if (input.openid) {
    return input.openid;
  }
  const [binding] = await database(env.DB)
    .select({ openid: contactWeChatBindings.openid })
    .from(contactWeChatBindings)
    .innerJoin(contacts, eq(contacts.id, contactWeChatBindings.contactId))
    .where(
      and(
        eq(contacts.tenantId, caller.tenant.id),
        eq(contacts.externalId, input.contact ?? ""),
        eq(contactWeChatBindings.appId, input.app_id),
      ),
    )
    .limit(1);
  if (!binding) {
    throw unprocessable(
      "/contact",
      `Contact ${input.contact} has no WeChat binding in ${input.app_id}.`,
    );
  }
  return binding.openid;
}

/** A customer-service message may go only inside the window, and within its quota. */
async function checkServiceWindow(
  env: Env,
  caller: Caller,
  appId: string,
  openid: string,
  now: number,
): Promise<void> {
  const db = database(env.DB);
  const follower = await db.query.wechatFollowers.findFirst({
    where: and(eq(wechatFollowers.appId, appId), eq(wechatFollowers.openid, openid)),
  });
  const since = follower?.lastInteractionAt ?? 0;
  if (!follower?.following || since < now - SERVICE_WINDOW_MS) {
    throw unprocessable(
      "/wechat/type",
      "Outside the 48-hour window: a customer-service message can go only within 48 hours of the follower's last message, menu click, follow or scan. Send a template message instead.",
    );
  }
  const [sent] = await db
    .select({ n: count() })
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, caller.tenant.id),
        eq(messages.channel, "wechat"),
        eq(messages.recipient, openid),
        eq(messages.sender, appId),
        gte(messages.createdAt, since),
        ne(sql`json_extract(${messages.payload}, '$.msgtype')`, "template"),
      ),
    );
  if ((sent?.n ?? 0) >= SERVICE_WINDOW_QUOTA) {
    throw unprocessable(
      "/wechat/type",
      `WeChat takes ${SERVICE_WINDOW_QUOTA} customer-service messages per window; this follower's are used until they interact again.`,
    );
  }
}

/** WeChat's request body for the message (the consumer adds nothing but the token). */
function payloadOf(openid: string, content: WeChatContent): Record<string, unknown> {
  switch (content.type) {
    case "template":
      return {
        msgtype: "template",
        touser: openid,
        template_id: content.template_id,
        data: content.data,
        ...(content.url ? { url: content.url } : {}),
        ...(content.miniprogram ? { miniprogram: content.miniprogram } : {}),
      };
    case "text":
      return { msgtype: "text", touser: openid, text: { content: content.content } };
    case "image":
      return { msgtype: "image", touser: openid, image: { media_id: content.media_id } };
    case "news":
      return { msgtype: "news", touser: openid, news: { articles: content.articles.slice(0, 1) } };
  }
}

/** A readable text of the message for lists and the dashboard. */
function summaryOf(content: WeChatContent): string {
  switch (content.type) {
    case "template":
      return `template ${content.template_id}: ${Object.entries(content.data)
        .map(([k, v]) => `${k}=${v.value}`)
        .join(", ")}`;
    case "text":
      return content.content;
    case "image":
      return `image ${content.media_id}`;
    case "news":
      return content.articles.map((a) => a.title).join(" / ");
  }
}

export async function acceptWeChatMessage(
  env: Env,
  caller: Caller,
  input: WeChatSendInput,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
  fallback: SmsFallback | null = null,
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  await getWeChatApp(env, caller, input.app_id).catch(() => {
    throw unprocessable("/app_id", `No WeChat app ${input.app_id} in this account.`);
  });
  const openid = await openidOf(env, caller, input);
  if (input.wechat.type !== "template") {
    await checkServiceWindow(env, caller, input.app_id, openid, now);
  }
  const message: OutboxMessage = {
    id: newId("msg", now),
    tenantId: caller.tenant.id,
    channel: "wechat",
    recipient: openid,
    sender: input.app_id,
    body: summaryOf(input.wechat),
    metadata: input.metadata ?? null,
    mode: caller.mode,
    // Not SMS: no segments and no per-segment price.
    segments: 0,
    encoding: "UCS-2",
    idempotencyKey: idempotencyKey ?? null,
    createdAt: now,
    sendAt: scheduledTime(input.send_at, now),
    batchId: null,
    templateId: null,
    templateVersion: null,
    templateParams: null,
    payload: JSON.stringify({
      ...payloadOf(openid, input.wechat),
      ...(fallback ? { fallback } : {}),
    }),
    kind: "notification",
    costMicros: 0,
    lane: "transactional",
  };
  return handOver(env, caller, message, input, idempotencyKey);
}
