/**
 * The local WeChat sandbox's web OAuth (development only, as the rest of the sandbox): its
 * authorize page, where a sandbox follower "agrees" and is sent back with a code, and the two
 * `/sns/…` calls the platform makes with that code. The codes, web tokens and user info are the
 * account's WeChatSandbox object's (durable-objects/wechat-sandbox/sns.ts).
 */
import { wechatRefusal } from "../../channels/wechat/sandbox-answers";
import { settingsOf } from "../../config/settings";
import { isSandboxBaseUrl } from "../../config/wechat-sandbox";
import { wechatSandboxOf } from "../../delivery/wechat-sandbox";
import { loadTokenApp } from "../../delivery/wechat-token-app";
import { timingSafeEqual } from "../../lib/crypto";
import { isSandboxApp } from "./sandbox";

export interface AuthorizeRequest {
  appid: string;
  redirect_uri: string;
  response_type: string;
  scope: string;
  state: string;
  /** The follower who agrees; the page lists them when none is given. */
  follower?: string;
}

export type AuthorizeOutcome =
  | { kind: "page"; followers: { openid: string; remark: string }[] }
  | { kind: "redirect"; location: string }
  | { kind: "refused"; errcode: number; errmsg: string };

function refused(errcode: number): AuthorizeOutcome {
  const answer = wechatRefusal(errcode);
  return { kind: "refused", errcode, errmsg: String(answer.errmsg) };
}

/**
 * What the authorize page does: WeChat's refusals (an app it does not know, a redirect_uri off
 * the account's OAuth domain, which for the sandbox is this Worker's own origin), the page of
 * followers, or the redirect back with a code (`decline`: with the state alone, as WeChat does
 * when the person does not agree).
 */
export async function sandboxAuthorize(
  env: Env,
  request: AuthorizeRequest,
  decline: boolean,
): Promise<AuthorizeOutcome> {
  if (!(await isSandboxApp(env, request.appid))) {
    return refused(40013);
  }
  let redirect: URL;
  try {
    redirect = new URL(request.redirect_uri);
  } catch {
    return refused(10003);
  }
  if (redirect.origin !== new URL(settingsOf(env).PUBLIC_BASE_URL).origin) {
    return refused(10003);
  }
  if (request.response_type !== "code") {
    return refused(10004);
  }
  const sandbox = wechatSandboxOf(env, request.appid);
  if (decline) {
    redirect.searchParams.set("state", request.state);
    return { kind: "redirect", location: redirect.href };
  }
  if (!request.follower) {
    return { kind: "page", followers: await sandbox.followerNames() };
  }
  const answer = JSON.parse(await sandbox.issueOAuthCode(request.follower, request.scope)) as {
    code?: string;
    errcode?: number;
  };
  if (!answer.code) {
    return refused(answer.errcode ?? 10005);
  }
  redirect.searchParams.set("code", answer.code);
  redirect.searchParams.set("state", request.state);
  return { kind: "redirect", location: redirect.href };
}

/** `/sns/oauth2/access_token`: WeChat's JSON text. */
export async function sandboxSnsToken(
  env: Env,
  query: { appid: string; secret: string; code: string; grant_type: string },
): Promise<string> {
  if (query.grant_type !== "authorization_code") {
    return JSON.stringify(wechatRefusal(40002));
  }
  const app = await loadTokenApp(env, query.appid);
  if (!app.ok || !isSandboxBaseUrl(env, app.value.apiBaseUrl)) {
    return JSON.stringify(wechatRefusal(40013));
  }
  if (!timingSafeEqual(app.value.appSecret, query.secret)) {
    return JSON.stringify(wechatRefusal(40125));
  }
  return wechatSandboxOf(env, query.appid).exchangeOAuthCode(query.appid, query.code);
}

const SNS_TOKEN = /^sns\.(wx[0-9a-f]{16})\.[A-Za-z0-9]+$/;

/** `/sns/userinfo`: WeChat's JSON text. */
export async function sandboxSnsUserInfo(
  env: Env,
  query: { access_token: string; openid: string },
): Promise<string> {
  const appId = SNS_TOKEN.exec(query.access_token)?.[1];
  if (!appId || !(await isSandboxApp(env, appId))) {
    return JSON.stringify(wechatRefusal(40001));
  }
  return wechatSandboxOf(env, appId).oauthUserInfo(query.access_token, query.openid);
}
