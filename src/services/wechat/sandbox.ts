/**
 * The local WeChat sandbox (development only: WECHAT_SANDBOX_ENABLED, which `npm start` turns on
 * and a deployment never does): WeChat's API for the apps whose `api_base_url` is this Worker's
 * `/sandbox/wechat`, and WeChat's pushes to their webhooks. A sandbox app is an ordinary app of
 * its tenant: the sandbox knows its AppSecret, Token and EncodingAESKey from the app's own row,
 * as WeChat knows them from its console, and every push goes through the real webhook.
 */

import {
  type MassJob,
  type ReceivedMessage,
  type TemplateJob,
  wechatRefusal,
} from "../../channels/wechat/sandbox-answers";
import {
  massResultXml,
  type PassiveReplyView,
  readPassiveReply,
  scanPushXml,
  signedPush,
  templateResultXml,
  textPushXml,
} from "../../channels/wechat/sandbox-push";
import { settingsOf } from "../../config/settings";
import { isSandboxBaseUrl, sandboxBaseUrl } from "../../config/wechat-sandbox";
import { wechatSandboxOf } from "../../delivery/wechat-sandbox";
import { loadTokenApp } from "../../delivery/wechat-token-app";
import type { Caller } from "../../domain/caller";
import { timingSafeEqual } from "../../lib/crypto";
import { createLogger } from "../../lib/log";
import { ownOriginFetch } from "../../lib/own-origin";
import { ApiError } from "../../lib/problem";
import { getWeChatApp, type ReadyWeChatApp, readyWeChatApp, webhookUrl } from "./apps";

// The sandbox's API routes play WeChat's side with the app's object and WeChat's refusals.
export { type WeChatAnswer, wechatRefusal } from "../../channels/wechat/sandbox-answers";
export { wechatSandboxOf } from "../../delivery/wechat-sandbox";

/** Whether `appId` is an app whose API is the sandbox (its row is cached for a few seconds). */
export async function isSandboxApp(env: Env, appId: string): Promise<boolean> {
  const app = await readyWeChatApp(env, appId);
  return app !== null && isSandboxBaseUrl(env, app.row.apiBaseUrl);
}

/**
 * `/cgi-bin/stable_token` and `/cgi-bin/token`: a token for an app whose API is the sandbox, when
 * the secret is the app's. 40013 for any other app id, as WeChat answers one it does not know.
 */
export async function sandboxToken(
  env: Env,
  request: { appid: string; secret: string; classic: boolean; force: boolean },
): Promise<string> {
  const app = await loadTokenApp(env, request.appid);
  if (!app.ok || !isSandboxBaseUrl(env, app.value.apiBaseUrl)) {
    return JSON.stringify(wechatRefusal(40013));
  }
  if (!timingSafeEqual(app.value.appSecret, request.secret)) {
    // WeChat's classic endpoint calls a wrong secret a bad credential; stable_token names it.
    return JSON.stringify(wechatRefusal(request.classic ? 40001 : 40125));
  }
  return wechatSandboxOf(env, request.appid).issueToken(request.appid, request);
}

/** The caller's sandbox app: 404 for another tenant's (or none), 403 for one that is not. */
async function sandboxAppOf(env: Env, caller: Caller, appId: string): Promise<ReadyWeChatApp> {
  const row = await getWeChatApp(env, caller, appId);
  if (!isSandboxBaseUrl(env, row.apiBaseUrl)) {
    throw new ApiError(
      "forbidden",
      `${appId} is not a sandbox app: its api_base_url is not ${sandboxBaseUrl(env)}.`,
    );
  }
  const ready = await readyWeChatApp(env, appId);
  if (!ready) {
    throw new ApiError("not-found", `No WeChat app ${appId}.`);
  }
  return ready;
}

export interface FollowerMessageResult {
  app_id: string;
  openid: string;
  msg_id: string;
  webhook_status: number;
  reply: PassiveReplyView | null;
}

/**
 * A follower of a sandbox account sends `text`: WeChat's push goes to the app's webhook, signed
 * (and encrypted in safe or compatible mode) as WeChat does, and the passive reply comes back.
 */
export async function followerSends(
  env: Env,
  caller: Caller,
  appId: string,
  input: { openid: string; text: string },
  now: number = Date.now(),
): Promise<FollowerMessageResult> {
  const app = await sandboxAppOf(env, caller, appId);
  const sandbox = wechatSandboxOf(env, appId);
  const spoke = await sandbox.followerSpoke(input.openid);
  if (!spoke) {
    const detail = `${input.openid} does not follow ${appId} in the sandbox; its followers are ${(await sandbox.followers()).join(", ")}.`;
    throw new ApiError("unprocessable-entity", detail, {
      errors: [{ pointer: "/openid", detail }],
    });
  }
  const xml = textPushXml({
    account: accountIdOf(appId),
    openid: input.openid,
    createTime: Math.floor(now / 1000),
    text: input.text,
    msgId: spoke.msgId,
  });
  const pushed = await pushAndReadReply(env, app, xml, input.openid, now);
  return {
    app_id: appId,
    openid: input.openid,
    msg_id: spoke.msgId,
    ...pushed,
  };
}

/** Pushes `xml` to the app's webhook and reads its passive reply as WeChat would. */
async function pushAndReadReply(
  env: Env,
  app: ReadyWeChatApp,
  xml: string,
  openid: string,
  now: number,
): Promise<{ webhook_status: number; reply: PassiveReplyView | null }> {
  const res = await pushToWebhook(env, app, xml, openid, now);
  const body = await res.text();
  if (res.status !== 200) {
    throw new ApiError(
      "provider-unavailable",
      `The webhook answered the sandbox's push with HTTP ${res.status}: ${body.slice(0, 300)}`,
    );
  }
  const reply = await readPassiveReply(body, keysOf(app));
  if (!reply.ok) {
    throw new ApiError(
      "provider-unavailable",
      `The webhook's reply is not one WeChat takes: ${reply.detail}`,
    );
  }
  return { webhook_status: res.status, reply: reply.reply };
}

export interface ScanResult {
  app_id: string;
  openid: string;
  event: "SCAN" | "subscribe";
  scene: string;
  ticket: string;
  webhook_status: number;
  reply: PassiveReplyView | null;
}

/**
 * Someone scans one of the sandbox account's QR codes (by ticket, or the newest with the scene):
 * WeChat's SCAN event for a follower, or subscribe (EventKey `qrscene_…`) for anyone else, goes to
 * the app's webhook signed as WeChat signs it, and the passive reply comes back.
 */
export async function followerScans(
  env: Env,
  caller: Caller,
  appId: string,
  input: { openid: string; ticket?: string; scene?: string },
  now: number = Date.now(),
): Promise<ScanResult> {
  const app = await sandboxAppOf(env, caller, appId);
  const scanned = await wechatSandboxOf(env, appId).scanned(input.openid, {
    ticket: input.ticket,
    scene: input.scene,
  });
  if (!scanned) {
    const pointer = input.ticket !== undefined ? "/ticket" : "/scene";
    const detail = `No QR code of ${appId} in the sandbox has this ${pointer.slice(1)}, or it has expired.`;
    throw new ApiError("unprocessable-entity", detail, {
      errors: [{ pointer, detail }],
    });
  }
  const xml = scanPushXml({
    account: accountIdOf(appId),
    openid: input.openid,
    createTime: Math.floor(now / 1000),
    event: scanned.event,
    scene: scanned.scene,
    ticket: scanned.ticket,
  });
  const pushed = await pushAndReadReply(env, app, xml, input.openid, now);
  return { app_id: appId, openid: input.openid, ...scanned, ...pushed };
}

/** What the sandbox account's followers received (template and customer-service messages). */
export async function receivedBySandbox(
  env: Env,
  caller: Caller,
  appId: string,
  limit: number,
): Promise<ReceivedMessage[]> {
  await sandboxAppOf(env, caller, appId);
  return wechatSandboxOf(env, appId).received(limit);
}

/** WeChat's TEMPLATESENDJOBFINISH push for a template message the sandbox took. */
export async function pushTemplateResult(
  env: Env,
  appId: string,
  job: TemplateJob,
  now: number = Date.now(),
): Promise<void> {
  const app = await readyWeChatApp(env, appId);
  if (!app) {
    return;
  }
  const xml = templateResultXml({
    account: accountIdOf(appId),
    openid: job.openid,
    createTime: Math.floor(now / 1000),
    msgId: String(job.msgId),
    status: job.status,
  });
  const res = await pushToWebhook(env, app, xml, job.openid, now);
  if (res.status !== 200) {
    createLogger(env.LOG_LEVEL).warn("wechat sandbox: the webhook refused a template result", {
      app_id: appId,
      status: res.status,
      answer: await res.text(),
    });
  }
}

/** The account's "mass-send assistant" that WeChat names as the sender of MASSSENDJOBFINISH. */
const MASS_ASSISTANT = "oSandboxMassAssistant000000";

/** WeChat's MASSSENDJOBFINISH push for a mass send the sandbox took. */
export async function pushMassResult(
  env: Env,
  appId: string,
  job: MassJob,
  now: number = Date.now(),
): Promise<void> {
  const app = await readyWeChatApp(env, appId);
  if (!app) {
    return;
  }
  const xml = massResultXml({
    account: accountIdOf(appId),
    openid: MASS_ASSISTANT,
    createTime: Math.floor(now / 1000),
    msgId: String(job.msgId),
    total: job.total,
    filtered: job.filtered,
    sent: job.sent,
    errors: job.errors,
  });
  const res = await pushToWebhook(env, app, xml, MASS_ASSISTANT, now);
  if (res.status !== 200) {
    createLogger(env.LOG_LEVEL).warn("wechat sandbox: the webhook refused a mass result", {
      app_id: appId,
      status: res.status,
      answer: await res.text(),
    });
  }
}

/** The account's original id (gh_…), which WeChat puts in ToUserName. */
function accountIdOf(appId: string): string {
  return `gh_${appId.slice(2, 14)}`;
}

function keysOf(app: ReadyWeChatApp) {
  return {
    appId: app.row.appId,
    token: app.secrets.token,
    encodingAesKey: app.secrets.encoding_aes_key,
    encrypted: app.row.mode !== "plaintext",
  };
}

async function pushToWebhook(
  env: Env,
  app: ReadyWeChatApp,
  xml: string,
  openid: string,
  now: number,
): Promise<Response> {
  const nonce = String(crypto.getRandomValues(new Uint32Array(1))[0]);
  const { query, body } = await signedPush(xml, keysOf(app), {
    openid,
    account: accountIdOf(app.row.appId),
    timestamp: String(Math.floor(now / 1000)),
    nonce,
  });
  const fetch = ownOriginFetch(settingsOf(env).PUBLIC_BASE_URL);
  return fetch(
    new Request(`${webhookUrl(env, app.row.appId)}?${query}`, {
      method: "POST",
      headers: { "content-type": "text/xml" },
      body,
    }),
  );
}

/** The sandbox account gets `count` followers (the sandbox's `followers_count` setting). */
export async function setSandboxFollowers(
  env: Env,
  caller: Caller,
  appId: string,
  count: number,
): Promise<number> {
  await sandboxAppOf(env, caller, appId);
  return wechatSandboxOf(env, appId).setFollowersCount(count);
}
