/**
 * What the WeChatAccount object and the WeChat API client answer with. Errors are values, not
 * exceptions: they cross the Durable Object RPC boundary intact (a thrown error loses its fields
 * there) and carry `code` and `retryable` like every other adapter result.
 */

export type WeChatErrorCode =
  /** WeChat answered with an `errcode` other than 0; `errcode` and `errmsg` are WeChat's own. */
  | "wechat-error"
  /** No `wechat_apps` row for this app id. */
  | "app-not-found"
  /** The stored secrets cannot be decrypted or lack `app_secret`. */
  | "bad-credentials"
  /** A forced token refresh was refused by WeChat's limit (20 a day, 30 s apart); see `retryAfterMs`. */
  | "refresh-limited"
  /** The request did not get an answer (connection failed). */
  | "network"
  /** Answered with a redirect, which is never followed (lib/outbound-fetch): a setting is wrong. */
  | "redirected"
  /** An answer that is not WeChat's JSON (an HTTP error from a proxy, HTML, no token...). */
  | "bad-response";

export interface WeChatError {
  code: WeChatErrorCode;
  retryable: boolean;
  /** Ours; never contains a token or a secret. */
  message: string;
  errcode?: number;
  errmsg?: string;
  /** When waiting helps: how long until the call may succeed. */
  retryAfterMs?: number;
}

export type WeChatResult<T> = { ok: true; value: T } | { ok: false; error: WeChatError };

export interface AccessToken {
  token: string;
  /** Unix ms; counted from before the request was sent, so never later than WeChat's own. */
  expiresAt: number;
  /** Where the app's API calls go (WeChat's API, or the proxy or fake the app's row names). */
  apiBaseUrl: string;
}

export interface AccessTokenRequest {
  appId: string;
  /**
   * Ask WeChat for a new token even though ours looks valid (`force_refresh`), after WeChat
   * called it invalid (40001). Limited to 20 per 24 h and 30 s apart.
   */
  force?: boolean;
  /**
   * The token WeChat just refused (40001 or 42001). If the stored token is already another one,
   * someone refreshed in the meantime and it is returned without a fetch.
   */
  rejectedToken?: string;
}

/** WeChat's errcodes after which the same call may succeed later. */
const RETRYABLE_ERRCODES = new Set([
  -1, // system busy
  45009, // daily API quota reached
  45011, // API minute quota reached
]);

export function wechatError(errcode: number, errmsg: string): WeChatError {
  return {
    code: "wechat-error",
    retryable: RETRYABLE_ERRCODES.has(errcode),
    message: `WeChat error ${errcode}`,
    errcode,
    errmsg,
  };
}

/** A WeChat endpoint (`what`: "WeChat's token endpoint") answered with a redirect. */
export function redirectedError(what: string, error: { message: string }): WeChatError {
  return { code: "redirected", retryable: false, message: `${what} ${error.message}` };
}
