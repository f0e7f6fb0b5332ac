/**
 * WeChat's two access-token endpoints, for the WeChatAccount object only (it is the one caller,
 * so tokens are never fetched behind its back; the app it asks for comes from
 * delivery/wechat-token-app.ts). The request carries the AppSecret and the answer the token:
 * neither is ever logged or put in an error.
 */
import { z } from "zod";
import { fetchNoRedirect, RedirectRefusedError } from "../../lib/outbound-fetch";
import { redirectedError, type WeChatResult, wechatError } from "./api-types";

export const WECHAT_API_BASE_URL = "https://api.weixin.qq.com";

/** A hung token request would hold up every caller waiting for it. */
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

export interface WeChatTokenApp {
  appId: string;
  appSecret: string;
  /** No trailing slash. */
  apiBaseUrl: string;
  tokenEndpoint: "stable_token" | "token";
}

/**
 * `POST /cgi-bin/stable_token` (JSON body) or the classic `GET /cgi-bin/token`. In its normal
 * mode stable_token hands back the current token until its last 5 minutes; `force_refresh`
 * replaces it at once and is limited by WeChat (see wechat-token-store.ts). The classic endpoint
 * has no such mode: every call is a new token.
 */
export function tokenRequest(app: WeChatTokenApp, force: boolean): Request {
  const signal = AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS);
  if (app.tokenEndpoint === "stable_token") {
    return new Request(`${app.apiBaseUrl}/cgi-bin/stable_token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credential",
        appid: app.appId,
        secret: app.appSecret,
        force_refresh: force,
      }),
      signal,
    });
  }
  const url = new URL(`${app.apiBaseUrl}/cgi-bin/token`);
  url.searchParams.set("grant_type", "client_credential");
  url.searchParams.set("appid", app.appId);
  url.searchParams.set("secret", app.appSecret);
  return new Request(url, { method: "GET", signal });
}

const tokenAnswerSchema = z.union([
  z.object({ access_token: z.string().min(1), expires_in: z.number().positive() }),
  z.object({ errcode: z.number(), errmsg: z.string().default("") }),
]);

export async function requestAccessToken(
  app: WeChatTokenApp,
  force: boolean,
  fetch: (request: Request) => Promise<Response>,
): Promise<WeChatResult<{ token: string; expiresInSeconds: number }>> {
  let response: Response;
  try {
    response = await fetchNoRedirect(fetch, tokenRequest(app, force));
  } catch (error) {
    if (error instanceof RedirectRefusedError) {
      // The redirect never gets the AppSecret, and its Location's query is not repeated.
      return { ok: false, error: redirectedError("WeChat's token endpoint", error) };
    }
    return {
      ok: false,
      error: {
        code: "network",
        retryable: true,
        message: "WeChat's token endpoint did not answer",
      },
    };
  }
  const parsed = tokenAnswerSchema.safeParse(await response.json().catch(() => null));
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        code: "bad-response",
        retryable: response.status >= 500 || response.status === 429,
        message: `WeChat's token endpoint answered HTTP ${response.status} without a token`,
      },
    };
  }
  const answer = parsed.data;
  if ("errcode" in answer) {
    return { ok: false, error: wechatError(answer.errcode, answer.errmsg) };
  }
  return { ok: true, value: { token: answer.access_token, expiresInSeconds: answer.expires_in } };
}
