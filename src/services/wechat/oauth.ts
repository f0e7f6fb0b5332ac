/**
 * A person binds their own openid to a tenant's contact through WeChat's web OAuth.
 *
 * - The tenant makes a link (API key): `start?contact=&scope=&redirect=` plus `sig`, a JWS naming
 *   tenant, contact, app, scope and redirect, valid 10 minutes. The readable parameters must match
 *   the signed ones, so no one can bind a contact the tenant did not name.
 * - `start` (no API key, the person's WeChat browser) checks the link and sends the browser to
 *   WeChat with a `state`: a second JWS holding only its id (`jti`) and expiry, because WeChat
 *   takes a state of at most 128 bytes. What the state stands for is kept in `idempotency_records`
 *   (tenant, `wechat-oauth <jti>`) until it expires.
 * - `callback` checks the state's signature and expiry, spends it (a state works once), exchanges
 *   the single-use code for the openid and records the binding.
 * The two JWSs, their key and what keeps one from standing in for the other are in oauth-link.ts.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { WECHAT_API_BASE_URL } from "../../channels/wechat/token-endpoint";
import { settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { idempotencyRecords } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import { randomToken } from "../../lib/crypto";
import { fetchNoRedirect, networkFetch, RedirectRefusedError } from "../../lib/outbound-fetch";
import { ApiError } from "../../lib/problem";
import { bindWeChatByOAuth, findContactRow } from "../contacts/contacts";
import { getWeChatApp, readyWeChatApp } from "./apps";
import {
  Binding,
  type OAuthScope,
  readLink,
  readState,
  signLink,
  signState,
  TTL_SECONDS,
} from "./oauth-link";

const AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize";
/** WeChat: "invalid code" and "code been used". */
const CODE_INVALID = 40029;
const CODE_USED = 40163;

export interface OAuthIO {
  fetch: (request: Request) => Promise<Response>;
  now: number;
}

const defaultIO = (): OAuthIO => ({ fetch: networkFetch, now: Date.now() });

/** https only, no user name or password in it. */
function checkRedirect(redirect: string): string {
  let url: URL;
  try {
    url = new URL(redirect);
  } catch {
    throw refusedRedirect("is not a URL");
  }
  if (url.protocol !== "https:") {
    throw refusedRedirect("must be https");
  }
  if (url.username !== "" || url.password !== "") {
    throw refusedRedirect("must not carry a user name or password");
  }
  return url.href;
}

function refusedRedirect(detail: string): ApiError {
  return new ApiError("unprocessable-entity", `The redirect ${detail}.`, {
    errors: [{ pointer: "/redirect", detail }],
  });
}

function badQuery(parameter: "sig" | "state" | "code", detail: string): ApiError {
  return new ApiError("validation-error", `The ${parameter} ${detail}.`, {
    errors: [{ pointer: `/query/${parameter}`, detail }],
  });
}

export function callbackUrl(env: Env, appId: string): string {
  return `${settingsOf(env).PUBLIC_BASE_URL}/wechat/${appId}/oauth/callback`;
}

/**
 * The link to send the person: our start endpoint with the contact, scope and redirect, and
 * `sig` over them, valid 10 minutes.
 */
export async function createOAuthLink(
  env: Env,
  caller: Caller,
  externalId: string,
  appId: string,
  input: { scope: OAuthScope; redirect: string },
  now: number = Date.now(),
): Promise<{ url: string; expiresAt: number }> {
  const redirect = checkRedirect(input.redirect);
  await getWeChatApp(env, caller, appId);
  const contact = await findContactRow(env, caller, externalId);
  const expiresAt = Math.floor(now / 1000) + TTL_SECONDS;
  const binding: Binding = {
    tid: caller.tenant.id,
    sub: contact.id,
    ext: externalId,
    app: appId,
    scope: input.scope,
    redirect,
  };
  const sig = await signLink(env, binding, now, expiresAt);
  const url = new URL(`${settingsOf(env).PUBLIC_BASE_URL}/wechat/${appId}/oauth/start`);
  url.searchParams.set("contact", externalId);
  url.searchParams.set("scope", input.scope);
  url.searchParams.set("redirect", redirect);
  url.searchParams.set("sig", sig);
  return { url: url.href, expiresAt: expiresAt * 1000 };
}

/** Where to send the person's browser: WeChat's authorize page, with a fresh single-use state. */
export async function startOAuth(
  env: Env,
  appId: string,
  query: Record<string, string>,
  now: number = Date.now(),
): Promise<string> {
  const binding = await readLink(env, query.sig ?? "", now);
  if (!binding || binding.app !== appId) {
    throw badQuery("sig", "is not a valid link, or has expired; ask for a new one");
  }
  const { ext, scope, redirect } = binding;
  if (query.contact !== ext || query.scope !== scope || query.redirect !== redirect) {
    throw badQuery("sig", "does not match the link's contact, scope and redirect");
  }
  const app = await readyWeChatApp(env, appId, now);
  if (!app || app.row.tenantId !== binding.tid) {
    throw new ApiError("not-found", `No WeChat app ${appId}.`);
  }
  // 16 base62 characters (95 bits) keep the state within WeChat's 128 bytes.
  const jti = randomToken(16);
  const expiresAt = Math.floor(now / 1000) + TTL_SECONDS;
  await database(env.DB)
    .insert(idempotencyRecords)
    .values({
      tenantId: binding.tid,
      key: `wechat-oauth ${jti}`,
      requestHash: "",
      responseBody: JSON.stringify(binding),
      createdAt: now,
      expiresAt: expiresAt * 1000,
    });
  const state = await signState(env, jti, expiresAt);
  const url = new URL(AUTHORIZE_URL);
  url.searchParams.set("appid", appId);
  url.searchParams.set("redirect_uri", callbackUrl(env, appId));
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", binding.scope);
  url.searchParams.set("state", state);
  return `${url.href}#wechat_redirect`;
}

/** Spends the state: the first caller gets what it stands for, every later one a 409. */
async function spendState(env: Env, tenantId: string, jti: string, now: number): Promise<Binding> {
  const [record] = await database(env.DB)
    .update(idempotencyRecords)
    .set({ responseStatus: 302 })
    .where(
      and(
        eq(idempotencyRecords.tenantId, tenantId),
        eq(idempotencyRecords.key, `wechat-oauth ${jti}`),
        isNull(idempotencyRecords.responseStatus),
        gt(idempotencyRecords.expiresAt, now),
      ),
    )
    .returning({ body: idempotencyRecords.responseBody });
  const binding = Binding.safeParse(JSON.parse(record?.body ?? "null"));
  if (!binding.success) {
    throw new ApiError("conflict", "This sign-in has already been used; open the link again.", {
      errors: [{ pointer: "/query/state", detail: "already used" }],
    });
  }
  return binding.data;
}

/** The openid for a code, or a problem: WeChat's codes work once, within 5 minutes. */
async function exchangeCode(
  apiBaseUrl: string | null,
  appId: string,
  secret: string,
  code: string,
  io: OAuthIO,
): Promise<string> {
  const url = new URL(
    `${(apiBaseUrl ?? WECHAT_API_BASE_URL).replace(/\/+$/, "")}/sns/oauth2/access_token`,
  );
  url.searchParams.set("appid", appId);
  url.searchParams.set("secret", secret);
  url.searchParams.set("code", code);
  url.searchParams.set("grant_type", "authorization_code");
  let answer: { errcode?: number; errmsg?: string; openid?: string };
  try {
    const response = await fetchNoRedirect(io.fetch, new Request(url, { method: "GET" }));
    answer = (await response.json()) as typeof answer;
  } catch (error) {
    if (error instanceof RedirectRefusedError) {
      throw new ApiError("provider-unavailable", `WeChat's code exchange ${error.message}.`);
    }
    // The URL carries the app secret: it is never put in the error.
    throw new ApiError("provider-unavailable", "WeChat could not be reached; try again.");
  }
  if (answer.errcode === CODE_USED) {
    throw new ApiError("conflict", "WeChat says this code has already been used.", {
      errors: [{ pointer: "/query/code", detail: "already used" }],
    });
  }
  if (answer.errcode === CODE_INVALID) {
    throw badQuery("code", "is not valid, or has expired");
  }
  if (answer.errcode || typeof answer.openid !== "string" || answer.openid === "") {
    throw new ApiError(
      "provider-unavailable",
      `WeChat refused the code exchange (errcode ${answer.errcode ?? "none"}).`,
    );
  }
  return answer.openid;
}

/** Checks and spends the state, binds the openid, and gives where to send the browser. */
export async function receiveOAuthCallback(
  env: Env,
  appId: string,
  query: Record<string, string>,
  io: OAuthIO = defaultIO(),
): Promise<string> {
  const jti = await readState(env, query.state ?? "", io.now);
  if (jti === null) {
    throw badQuery("state", "is not valid, or has expired; open the link again");
  }
  const code = query.code ?? "";
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(code)) {
    throw badQuery("code", "is missing: the person did not agree in WeChat");
  }
  const app = await readyWeChatApp(env, appId, io.now);
  if (!app) {
    throw new ApiError("not-found", `No WeChat app ${appId}.`);
  }
  const binding = await spendState(env, app.row.tenantId, jti, io.now);
  if (binding.app !== appId) {
    throw badQuery("state", "was made for another app");
  }
  const openid = await exchangeCode(app.row.apiBaseUrl, appId, app.secrets.app_secret, code, io);
  await bindWeChatByOAuth(
    env,
    { tenantId: binding.tid, contactId: binding.sub, appId, openid },
    io.now,
  );
  const redirect = new URL(binding.redirect);
  redirect.searchParams.set("bound", "1");
  return redirect.href;
}
