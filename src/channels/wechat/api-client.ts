/**
 * Calls to WeChat's Official Account API (`/cgi-bin/...`) with the app's access token, which the
 * caller's token authority hands out (the app's WeChatAccount object: it alone fetches tokens).
 * On 42001 (token expired) the authority is asked for a new token and the call is made once more;
 * on 40001 (token invalid) the same, with a forced refresh. The token travels in the query string,
 * so URLs are never logged or put in an error.
 */
import { fetchNoRedirect, RedirectRefusedError } from "../../lib/outbound-fetch";
import {
  type AccessToken,
  type AccessTokenRequest,
  redirectedError,
  type WeChatResult,
  wechatError,
} from "./api-types";

export interface WeChatCall {
  /** POST when there is a body, GET otherwise. */
  method?: "GET" | "POST";
  query?: Record<string, string>;
  /** Sent as JSON (UTF-8, non-ASCII unescaped, as WeChat expects). */
  body?: unknown;
  /** Sent as multipart/form-data instead (media uploads); a File in it is read again on a retry. */
  form?: FormData;
  /**
   * A body streamed through as it arrives (a media upload): it can be sent once only, so a token
   * WeChat refuses is not retried with a fresh one (the caller's 503 says trying again is safe).
   */
  stream?: { body: ReadableStream<Uint8Array>; contentType: string };
}

/** The app's token authority: a token for `request.appId`, refreshed as the request says. */
export type AccessTokenSource = (request: AccessTokenRequest) => Promise<WeChatResult<AccessToken>>;

export interface WeChatApiIO {
  fetch: (request: Request) => Promise<Response>;
  accessToken: AccessTokenSource;
}

const TOKEN_EXPIRED = 42001;
const TOKEN_INVALID = 40001;

/**
 * WeChat's JSON answer when its `errcode` is absent or 0, else a typed error. A `network` error
 * on a POST means the request may have reached WeChat.
 */
export async function callWeChatApi(
  appId: string,
  path: string,
  call: WeChatCall,
  io: WeChatApiIO,
): Promise<WeChatResult<Record<string, unknown>>> {
  const first = await io.accessToken({ appId });
  if (!first.ok) {
    return first;
  }
  const answer = await send(first.value, path, call, io);
  const errcode = answer.ok ? undefined : answer.error.errcode;
  if ((errcode !== TOKEN_EXPIRED && errcode !== TOKEN_INVALID) || call.stream) {
    return answer;
  }
  const next = await io.accessToken({
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
  io: Pick<WeChatApiIO, "fetch">,
): Promise<WeChatResult<Record<string, unknown>>> {
  const url = new URL(`${token.apiBaseUrl}${path}`);
  for (const [name, value] of Object.entries(call.query ?? {})) {
    url.searchParams.set(name, value);
  }
  url.searchParams.set("access_token", token.token);
  const method =
    call.method ?? (call.body === undefined && !call.form && !call.stream ? "GET" : "POST");
  const request = call.stream
    ? new Request(url, {
        method,
        headers: { "content-type": call.stream.contentType },
        body: call.stream.body,
      })
    : call.form
      ? new Request(url, { method, body: call.form })
      : call.body === undefined
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
