/**
 * WeChat's web OAuth (网页授权) calls, made with a code a person's browser brought back:
 * `GET /sns/oauth2/access_token` (the code for an openid, and a web access token) and, for the
 * `snsapi_userinfo` scope, `GET /sns/userinfo`. The first carries the AppSecret and both answer
 * tokens: neither URL is ever logged or put in an error. Redirects are never followed.
 */
import { type Fetch, fetchNoRedirect, RedirectRefusedError } from "../../lib/outbound-fetch";

export interface SnsIdentity {
  openid: string;
  unionid: string | null;
  /** The web access token, for `/sns/userinfo`. */
  accessToken: string;
  scope: string;
}

export interface SnsUserInfo {
  nickname: string | null;
  unionid: string | null;
}

/** What went wrong: WeChat's errcode, or no usable answer (`errcode` null). */
export interface SnsError {
  errcode: number | null;
  detail: string;
}

export type SnsResult<T> = { ok: true; value: T } | { ok: false; error: SnsError };

const str = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : null;

async function answerOf(
  fetch: Fetch,
  url: URL,
  what: string,
): Promise<SnsResult<Record<string, unknown>>> {
  let answer: unknown;
  try {
    const response = await fetchNoRedirect(fetch, new Request(url, { method: "GET" }));
    answer = await response.json();
  } catch (error) {
    if (error instanceof RedirectRefusedError) {
      return { ok: false, error: { errcode: null, detail: `${what} ${error.message}` } };
    }
    return { ok: false, error: { errcode: null, detail: `${what}: WeChat could not be reached` } };
  }
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
    return { ok: false, error: { errcode: null, detail: `${what}: WeChat's answer is not JSON` } };
  }
  const fields = answer as Record<string, unknown>;
  if (typeof fields.errcode === "number" && fields.errcode !== 0) {
    const errmsg = typeof fields.errmsg === "string" ? fields.errmsg.slice(0, 200) : "";
    return { ok: false, error: { errcode: fields.errcode, detail: `${what}: ${errmsg}` } };
  }
  return { ok: true, value: fields };
}

/** `/sns/oauth2/access_token`: the openid (and unionid, when bound) for a code. */
export async function exchangeSnsCode(
  fetch: Fetch,
  apiBaseUrl: string,
  app: { appId: string; secret: string },
  code: string,
): Promise<SnsResult<SnsIdentity>> {
  const url = new URL(`${apiBaseUrl.replace(/\/+$/, "")}/sns/oauth2/access_token`);
  url.searchParams.set("appid", app.appId);
  url.searchParams.set("secret", app.secret);
  url.searchParams.set("code", code);
  url.searchParams.set("grant_type", "authorization_code");
  const answer = await answerOf(fetch, url, "the code exchange");
  if (!answer.ok) {
    return answer;
  }
  const openid = str(answer.value.openid);
  const accessToken = str(answer.value.access_token);
  if (!openid || !accessToken) {
    return {
      ok: false,
      error: { errcode: null, detail: "the code exchange: no openid in WeChat's answer" },
    };
  }
  return {
    ok: true,
    value: {
      openid,
      unionid: str(answer.value.unionid),
      accessToken,
      scope: str(answer.value.scope) ?? "",
    },
  };
}

/** `/sns/userinfo` for a person who agreed to `snsapi_userinfo`. */
export async function fetchSnsUserInfo(
  fetch: Fetch,
  apiBaseUrl: string,
  identity: { accessToken: string; openid: string },
): Promise<SnsResult<SnsUserInfo>> {
  const url = new URL(`${apiBaseUrl.replace(/\/+$/, "")}/sns/userinfo`);
  url.searchParams.set("access_token", identity.accessToken);
  url.searchParams.set("openid", identity.openid);
  url.searchParams.set("lang", "zh_CN");
  const answer = await answerOf(fetch, url, "the user info");
  if (!answer.ok) {
    return answer;
  }
  return {
    ok: true,
    value: { nickname: str(answer.value.nickname), unionid: str(answer.value.unionid) },
  };
}
