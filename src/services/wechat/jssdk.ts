/**
 * The signed JS-SDK config for one page of the tenant's site: the app's `jsapi_ticket` comes from
 * its WeChatAccount (the token authority, which keeps it and fetches one at a time), and the
 * signature is made here; the ticket never leaves the platform.
 */
import { jssdkSignature, signedPageUrl } from "../../channels/wechat/jssdk";
import { wechatAccountOf } from "../../delivery/wechat-account";
import type { Caller } from "../../domain/caller";
import { randomToken } from "../../lib/crypto";
import { getWeChatApp } from "./apps";
import { wechatProblem } from "./client";

export interface JssdkConfig {
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  /** The URL signed: the page's without its fragment. */
  url: string;
}

export async function jssdkConfig(
  env: Env,
  caller: Caller,
  appId: string,
  url: string,
  now: number = Date.now(),
): Promise<JssdkConfig> {
  await getWeChatApp(env, caller, appId);
  const ticket = await wechatAccountOf(env, appId).jsapiTicket(appId);
  if (!ticket.ok) {
    throw wechatProblem(ticket.error, "give the JS-SDK ticket");
  }
  const timestamp = Math.floor(now / 1000);
  const nonceStr = randomToken(16);
  const signature = await jssdkSignature({ ticket: ticket.value.ticket, nonceStr, timestamp, url });
  return { appId, timestamp, nonceStr, signature, url: signedPageUrl(url) };
}
