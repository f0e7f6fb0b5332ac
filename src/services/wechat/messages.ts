/**
 * WeChat messages through the same path as SMS (`channel: "wechat"` on POST /v1/messages): to an
 * openid or a contact bound in the account, as a template message, a subscription notice
 * (`/cgi-bin/message/subscribe/bizsend`), or as a customer-service
 * message (text, image, news) inside the window the follower's last interaction opened (48 hours
 * after a message, 1 minute after a menu click, follow or scan; see SERVICE_WINDOWS), within
 * WeChat's quota for that window. The dispatcher releases it; the consumer calls WeChat through
 * the account's token authority.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { wechatApps } from "../../db/schema";
import type { AcceptedMessage } from "../../delivery/dispatcher-types";
import type { Caller } from "../../domain/caller";
import type { SmsFallback } from "../../domain/wechat-payload";
import { subscribeDataProblems } from "../../domain/wechat-subscribe";
import { newId } from "../../lib/ids";
import { createLogger } from "../../lib/log";
import { ApiError } from "../../lib/problem";
import { withCurrentSettings } from "../accounts/tenants";
import { boundOpenid } from "../contacts/bindings";
import { handOver, scheduledTime } from "../messaging/messages";
import { type OutboxOrigin, wechatOutboxMessage } from "../messaging/outbox-message";
import { getWeChatApp, refuseTestKeyOutsideSandbox } from "./apps";
import { resolveMediaId } from "./media";
import { releaseServiceSlot, reserveServiceSlot, type ServiceSlot } from "./service-slots";

export type WeChatContent =
  | {
      type: "template";
      wechat_template_id: string;
      data: Record<string, { value: string; color?: string }>;
      url?: string;
      miniprogram?: { appid: string; pagepath?: string };
    }
  | {
      type: "subscribe_notice";
      wechat_template_id: string;
      data: Record<string, { value: string }>;
      page?: string;
      miniprogram?: { appid: string; pagepath: string };
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

/**
 * Test keys send only through sandboxes, as SMS goes only through the sandbox provider: a test
 * key's WeChat message may go only through an app whose API is the local WeChat sandbox, never to
 * WeChat and a real follower. A missing app is left to the caller to refuse.
 */
export async function refuseWeChatOutsideSandbox(
  env: Env,
  caller: Caller,
  appId: string,
): Promise<void> {
  if (caller.mode !== "test") {
    return;
  }
  const app = await database(env.DB).query.wechatApps.findFirst({
    columns: { appId: true, apiBaseUrl: true },
    where: and(eq(wechatApps.appId, appId), eq(wechatApps.tenantId, caller.tenant.id)),
  });
  if (app) {
    refuseTestKeyOutsideSandbox(env, caller, app);
  }
}

/** The openid: given, or the contact's binding in this account. */
async function openidOf(env: Env, caller: Caller, input: WeChatSendInput): Promise<string> {
  if (input.openid) {
    return input.openid;
  }
  const openid = await boundOpenid(env, caller, input.contact ?? "", input.app_id);
  if (!openid) {
    throw unprocessable(
      "/contact",
      `Contact ${input.contact} has no WeChat binding in ${input.app_id}.`,
    );
  }
  return openid;
}

/** WeChat's request body for the message (the consumer adds nothing but the token). */
function payloadOf(openid: string, content: WeChatContent): Record<string, unknown> {
  switch (content.type) {
    case "template":
      return {
        msgtype: "template",
        touser: openid,
        template_id: content.wechat_template_id,
        data: content.data,
        ...(content.url ? { url: content.url } : {}),
        ...(content.miniprogram ? { miniprogram: content.miniprogram } : {}),
      };
    case "subscribe_notice":
      return {
        msgtype: "subscribe_notice",
        touser: openid,
        template_id: content.wechat_template_id,
        data: content.data,
        ...(content.page ? { page: content.page } : {}),
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

/** An image's media id as WeChat knows it: ours (`med_…`, uploaded through us) is resolved. */
async function withWeChatMediaId(
  env: Env,
  caller: Caller,
  input: WeChatSendInput,
): Promise<WeChatContent> {
  const content = input.wechat;
  if (content.type !== "image") {
    return content;
  }
  const mediaId = await resolveMediaId(env, caller.tenant.id, input.app_id, content.media_id, {
    type: "image",
    pointer: "/wechat/media_id",
  });
  return { ...content, media_id: mediaId };
}

/** A readable text of the message for lists and the dashboard. */
export function summaryOf(content: WeChatContent): string {
  switch (content.type) {
    case "template":
      return `template ${content.wechat_template_id}: ${Object.entries(content.data)
        .map(([k, v]) => `${k}=${v.value}`)
        .join(", ")}`;
    case "subscribe_notice":
      return `notice ${content.wechat_template_id}: ${Object.entries(content.data)
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

type Accepted = { replayed: boolean; message: AcceptedMessage };

/** Accepts a WeChat message; a customer-service message outside its window is a 422. */
export async function acceptWeChatMessage(
  env: Env,
  caller: Caller,
  input: WeChatSendInput,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<Accepted> {
  const result = await withCurrentSettings(env, caller, (current) =>
    acceptWithinWindow(env, current, input, idempotencyKey, now, null),
  );
  if (!result.ok) {
    throw unprocessable("/wechat/type", result.detail);
  }
  return result.accepted;
}

/**
 * Accepts a WeChat message, or says why its customer-service window refuses it (best-channel.ts
 * then sends the SMS part instead). A customer-service message takes a slot of its follower's
 * window first, and gives it back if the request does not become a new message.
 */
export async function acceptWithinWindow(
  env: Env,
  caller: Caller,
  input: WeChatSendInput,
  idempotencyKey: string | undefined,
  now: number,
  fallback: SmsFallback | null,
): Promise<{ ok: true; accepted: Accepted } | { ok: false; detail: string }> {
  await getWeChatApp(env, caller, input.app_id).catch(() => {
    throw unprocessable("/app_id", `No WeChat app ${input.app_id} in this account.`);
  });
  await refuseWeChatOutsideSandbox(env, caller, input.app_id);
  if (input.wechat.type === "subscribe_notice") {
    const problems = subscribeDataProblems(input.wechat.data);
    if (problems.length > 0) {
      throw new ApiError(
        "unprocessable-entity",
        `The notice's data breaks WeChat's rules: ${problems.map((p) => `${p.pointer}: ${p.detail}`).join("; ")}`,
        { errors: problems },
      );
    }
  }
  const openid = await openidOf(env, caller, input);
  const origin: OutboxOrigin = {
    tenantId: caller.tenant.id,
    mode: caller.mode,
    sender: input.app_id,
    metadata: input.metadata ?? null,
    idempotencyKey: idempotencyKey ?? null,
    createdAt: now,
    sendAt: scheduledTime(input.send_at, now),
    batchId: null,
    template: null,
  };
  const message = wechatOutboxMessage(origin, newId("msg", now), {
    recipient: openid,
    body: summaryOf(input.wechat),
    payload: JSON.stringify({
      ...payloadOf(openid, await withWeChatMediaId(env, caller, input)),
      ...(fallback ? { fallback } : {}),
    }),
    currency: caller.tenant.currency,
  });
  // Template messages and subscription notices need no customer-service window.
  if (input.wechat.type === "template" || input.wechat.type === "subscribe_notice") {
    return { ok: true, accepted: await handOver(env, caller, message, input, idempotencyKey) };
  }
  const slot: ServiceSlot = {
    tenantId: caller.tenant.id,
    appId: input.app_id,
    openid,
    key: idempotencyKey ? `key:${caller.tenant.id}:${idempotencyKey}` : `msg:${message.id}`,
    messageId: message.id,
  };
  const reserved = await reserveServiceSlot(env.DB, slot, now);
  if (!reserved.ok) {
    return reserved;
  }
  let accepted: Accepted;
  try {
    accepted = await handOver(env, caller, message, input, idempotencyKey);
  } catch (error) {
    await releaseServiceSlot(env.DB, slot).catch((release) => {
      createLogger(env.LOG_LEVEL, { tenant_id: caller.tenant.id }).error(
        "wechat: a customer-service slot was not given back",
        { error: release },
      );
    });
    throw error;
  }
  if (accepted.replayed) {
    // The first request's message holds its own slot; this one's (if it took one) is spare.
    await releaseServiceSlot(env.DB, slot);
  }
  return { ok: true, accepted };
}
