/**
 * Calls to WeChat's Official Account API for the API's use cases (the menu, followers and tags):
 * the channel's client (channels/wechat/api-client.ts) with the app's WeChatAccount object as its
 * token authority, and the API's answer when WeChat does not do what was asked.
 */
import { callWeChatApi, type WeChatCall } from "../../channels/wechat/api-client";
import type { WeChatError, WeChatResult } from "../../channels/wechat/api-types";
import { settingsOf } from "../../config/settings";
import { wechatAccountOf } from "../../delivery/wechat-account";
import { ownOriginFetch } from "../../lib/own-origin";
import { ApiError } from "../../lib/problem";

export interface WeChatClientIO {
  fetch: (request: Request) => Promise<Response>;
}

/**
 * WeChat's JSON answer when its `errcode` is absent or 0, else a typed error, the token coming
 * from the app's WeChatAccount (one object for both of the call's token requests).
 */
export async function callWeChat(
  env: Env,
  appId: string,
  path: string,
  call: WeChatCall = {},
  // An API base URL of our own (the local WeChat sandbox) is served in process.
  io: WeChatClientIO = { fetch: ownOriginFetch(settingsOf(env).PUBLIC_BASE_URL) },
): Promise<WeChatResult<Record<string, unknown>>> {
  const account = wechatAccountOf(env, appId);
  return callWeChatApi(appId, path, call, {
    fetch: io.fetch,
    accessToken: (request) => account.accessToken(request),
  });
}

/**
 * WeChat errcodes that say nothing about the request: the token (still refused after the client's
 * one retry) or the app id. Any other errcode is WeChat refusing this request or this account.
 */
const CREDENTIAL_ERRCODES = new Set([40001, 40013, 40125, 40164, 41001, 42001]);

/**
 * The API's answer to a failed WeChat call made for `action` ("set the menu"): WeChat refusing the
 * request → 422 naming its errcode and errmsg; busy, unreachable or token trouble → 503, with
 * Retry-After when it is known.
 */
export function wechatProblem(error: WeChatError, action: string): ApiError {
  const { errcode } = error;
  if (error.code === "app-not-found") {
    // The app was removed between our lookup and the token authority's.
    return new ApiError("not-found", "The WeChat app was just removed.");
  }
  if (
    error.code === "wechat-error" &&
    errcode !== undefined &&
    !error.retryable &&
    !CREDENTIAL_ERRCODES.has(errcode)
  ) {
    return new ApiError(
      "unprocessable-entity",
      `WeChat refused to ${action}: errcode ${errcode} (${error.errmsg ?? ""}).`,
    );
  }
  const why = errcode === undefined ? error.message : `errcode ${errcode} (${error.errmsg ?? ""})`;
  const headers: Record<string, string> =
    error.retryAfterMs === undefined
      ? {}
      : { "Retry-After": String(Math.ceil(error.retryAfterMs / 1000)) };
  return new ApiError(
    "provider-unavailable",
    `WeChat could not ${action} now: ${why}. Trying again is safe.`,
    { headers },
  );
}
