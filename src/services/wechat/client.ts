/**
 * Calls to WeChat's Official Account API (`/cgi-bin/...`) with the app's access token, which only
 * the app's WeChatAccount object fetches. On 42001 (token expired) the object is asked for a new
 * token and the call is made once more; on 40001 (token invalid) the same, with a forced refresh.
 * The token travels in the query string, so URLs are never logged or put in an error.
 */

import {
  type AccessToken,
  redirectedError,
  type WeChatError,
  type WeChatResult,
  wechatError,
} from "../../channels/wechat/api-types";
import { settingsOf } from "../../config/settings";
import type { WeChatAccount } from "../../durable-objects/wechat-account/wechat-account";
import { fetchNoRedirect, RedirectRefusedError } from "../../lib/outbound-fetch";
import { ownOriginFetch } from "../../lib/own-origin";
import { ApiError } from "../../lib/problem";

/** The app's token authority; the name is derived from the app id, a key of our own table. */
export function wechatAccountOf(env: Env, appId: string): DurableObjectStub<WeChatAccount> {
  return env.WECHAT_ACCOUNT.get(env.WECHAT_ACCOUNT.idFromName(`wechat:${appId}`));
}

export interface WeChatCall {
  /** POST when there is a body, GET otherwise. */
  method?: "GET" | "POST";
  query?: Record<string, string>;
  /** Sent as JSON (UTF-8, non-ASCII unescaped, as WeChat expects). */
  body?: unknown;
}

export interface WeChatClientIO {
  fetch: (request: Request) => Promise<Response>;
}

const TOKEN_EXPIRED = 42001;
const TOKEN_INVALID = 40001;

/**
 * WeChat's JSON answer when its `errcode` is absent or 0, else a typed error. A `network` error
 * on a POST means the request may have reached WeChat.
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
  const first = await account.accessToken({ appId });
  if (!first.ok) {
    return first;
  }
  const answer = await send(first.value, path, call, io);
  const errcode = answer.ok ? undefined : answer.error.errcode;
  if (errcode !== TOKEN_EXPIRED && errcode !== TOKEN_INVALID) {
    return answer;
  }
  const next = await account.accessToken({
    appId,
    force: errcode === TOKEN_INVALID,
    rejectedToken: first.value.token,
  });
  if (!next.ok) {
    return next;
  }
  return send(next.value, path, call, io);
}

async function send(
  token: AccessToken,
  path: string,
  call: WeChatCall,
  io: WeChatClientIO,
): Promise<WeChatResult<Record<string, unknown>>> {
  const url = new URL(`${token.apiBaseUrl}${path}`);
  for (const [name, value] of Object.entries(call.query ?? {})) {
    url.searchParams.set(name, value);
  }
  url.searchParams.set("access_token", token.token);
  const method = call.method ?? (call.body === undefined ? "GET" : "POST");
  const request =
    call.body === undefined
      ? new Request(url, { method })
      : new Request(url, {
          method,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(call.body),
        });
  let response: Response;
  try {
    response = await fetchNoRedirect(io.fetch, request);
  } catch (error) {
    if (error instanceof RedirectRefusedError) {
      return { ok: false, error: redirectedError(`WeChat's API (${path})`, error) };
    }
    return {
      ok: false,
      error: { code: "network", retryable: true, message: `WeChat did not answer ${path}` },
    };
  }
  const json: unknown = await response.json().catch(() => null);
  if (!isObject(json)) {
    return {
      ok: false,
      error: {
        code: "bad-response",
        retryable: response.status >= 500 || response.status === 429,
        message: `WeChat answered ${path} with HTTP ${response.status} and no JSON object`,
      },
    };
  }
  const code = json.errcode;
  if (typeof code === "number" && code !== 0) {
    return { ok: false, error: wechatError(code, String(json.errmsg ?? "")) };
  }
  return { ok: true, value: json };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
