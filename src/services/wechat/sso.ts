/**
 * Sign-in with WeChat for a tenant's own sites: `/wechat/{app_id}/oauth/login?redirect=&scope=`
 * (no API key, the person's browser) sends the browser to WeChat's authorize page (the sandbox's
 * for a sandbox app) with a single-use state; `/wechat/{app_id}/oauth/login/callback` spends the
 * state, exchanges WeChat's code for the openid (and `/sns/userinfo` for `snsapi_userinfo`) and
 * sends the browser back to the redirect with `?id_token=<JWT>`.
 *
 * - The redirect must be one of the app's `sso_redirect_urls`, exactly (domain/sso-redirects.ts);
 *   it is checked before anything else and the callback returns only to the redirect the state
 *   was made for, read from our own record, so this is never an open redirect.
 * - The state is a JWS holding only its id (oauth-link.ts, WeChat takes at most 128 bytes); what
 *   it stands for is kept in `idempotency_records` (tenant, `wechat-sso <jti>`) for 10 minutes and
 *   spent on first use. A binding-flow state (`wechat-oauth <jti>`) has no record here.
 * - The token (ES256, sso-keys.ts): iss `{PUBLIC_BASE_URL}/wechat/{app_id}`, aud the app id, sub
 *   the openid, unionid when WeChat gives one, contact the external id of the contact bound to the
 *   openid in this app, nickname with `snsapi_userinfo`, iat, exp (5 minutes), jti.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";
import { exchangeSnsCode, fetchSnsUserInfo, type SnsError } from "../../channels/wechat/sns";
import { WECHAT_API_BASE_URL } from "../../channels/wechat/token-endpoint";
import { settingsOf } from "../../config/settings";
import { isSandboxBaseUrl, sandboxBaseUrl } from "../../config/wechat-sandbox";
import { database } from "../../db/client";
import { contacts, contactWeChatBindings, idempotencyRecords, wechatApps } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { isListedRedirect, ssoRedirectProblem } from "../../domain/sso-redirects";
import { randomToken } from "../../lib/crypto";
import type { Fetch } from "../../lib/outbound-fetch";
import { ownOriginFetch } from "../../lib/own-origin";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getWeChatApp, readyWeChatApp } from "./apps";
import { OAUTH_SCOPES, readState, signState, TTL_SECONDS } from "./oauth-link";
import { signWithAppKey } from "./sso-keys";

const AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize";
/** How long an identity token can be used: long enough to reach the tenant's page, no more. */
export const ID_TOKEN_TTL_SECONDS = 300;

export interface SsoIO {
  fetch: Fetch;
  now: number;
}

const defaultIO = (env: Env): SsoIO => ({
  fetch: ownOriginFetch(settingsOf(env).PUBLIC_BASE_URL),
  now: Date.now(),
});

const Pending = z.object({
  tid: z.string(),
  app: z.string(),
  scope: z.enum(OAUTH_SCOPES),
  redirect: z.string(),
});
type Pending = z.infer<typeof Pending>;

export function ssoIssuer(env: Env, appId: string): string {
  return `${settingsOf(env).PUBLIC_BASE_URL.replace(/\/+$/, "")}/wechat/${appId}`;
}

export function ssoCallbackUrl(env: Env, appId: string): string {
  return `${ssoIssuer(env, appId)}/oauth/login/callback`;
}

function badQuery(parameter: string, detail: string): ApiError {
  return new ApiError("validation-error", `The ${parameter} ${detail}.`, {
    errors: [{ pointer: `/query/${parameter}`, detail }],
  });
}

// ---- settings ------------------------------------------------------------------------------

export interface SsoSettings {
  appId: string;
  redirectUrls: string[];
}

export async function getSsoSettings(
  env: Env,
  caller: Caller,
  appId: string,
): Promise<SsoSettings> {
  const row = await getWeChatApp(env, caller, appId);
  return { appId, redirectUrls: row.ssoRedirectUrls };
}

/** Replaces the app's redirect list, audited; each URL checked, duplicates dropped. */
export async function setSsoRedirectUrls(
  env: Env,
  caller: Caller,
  appId: string,
  urls: readonly string[],
  now: number = Date.now(),
): Promise<SsoSettings> {
  const errors = urls.flatMap((url, i) => {
    const problem = ssoRedirectProblem(url);
    return problem ? [{ pointer: `/sso_redirect_urls/${i}`, detail: `${url} ${problem}` }] : [];
  });
  if (errors.length > 0) {
    throw new ApiError("unprocessable-entity", "A redirect URL cannot be listed.", { errors });
  }
  const row = await getWeChatApp(env, caller, appId);
  const next = [...new Set(urls)];
  const db = database(env.DB);
  await audited(
    env,
    caller,
    {
      action: "wechat_app.update",
      target: appId,
      diff: diffOf({ ssoRedirectUrls: row.ssoRedirectUrls }, { ssoRedirectUrls: next }),
    },
    [
      db
        .update(wechatApps)
        .set({ ssoRedirectUrls: next, updatedAt: now })
        .where(and(eq(wechatApps.appId, appId), eq(wechatApps.tenantId, caller.tenant.id))),
    ],
  );
  return { appId, redirectUrls: next };
}

// ---- the flow ------------------------------------------------------------------------------

/** Where to send the browser: WeChat's authorize page, with a fresh single-use state. */
export async function startSsoLogin(
  env: Env,
  appId: string,
  query: Record<string, string>,
  now: number = Date.now(),
): Promise<string> {
  // Read fresh, not from the webhook's cache: a URL just taken off the list is off it.
  const app = await database(env.DB).query.wechatApps.findFirst({
    where: eq(wechatApps.appId, appId),
  });
  if (!app) {
    throw new ApiError("not-found", `No WeChat app ${appId}.`);
  }
  const redirect = query.redirect ?? "";
  if (!isListedRedirect(app.ssoRedirectUrls, redirect)) {
    throw badQuery("redirect", "is not one of this app's sign-in redirect URLs");
  }
  const scope = query.scope ?? "snsapi_base";
  if (!(OAUTH_SCOPES as readonly string[]).includes(scope)) {
    throw badQuery("scope", "must be snsapi_base or snsapi_userinfo");
  }
  // 16 base62 characters (95 bits) keep the state within WeChat's 128 bytes.
  const jti = randomToken(16);
  const expiresAt = Math.floor(now / 1000) + TTL_SECONDS;
  const pending: Pending = {
    tid: app.tenantId,
    app: appId,
    scope: scope as Pending["scope"],
    redirect,
  };
  await database(env.DB)
    .insert(idempotencyRecords)
    .values({
      tenantId: app.tenantId,
      key: `wechat-sso ${jti}`,
      requestHash: "",
      responseBody: JSON.stringify(pending),
      createdAt: now,
      expiresAt: expiresAt * 1000,
    });
  const base = isSandboxBaseUrl(env, app.apiBaseUrl)
    ? `${sandboxBaseUrl(env)}/connect/oauth2/authorize`
    : AUTHORIZE_URL;
  const url = new URL(base);
  url.searchParams.set("appid", appId);
  url.searchParams.set("redirect_uri", ssoCallbackUrl(env, appId));
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", scope);
  url.searchParams.set("state", await signState(env, jti, expiresAt));
  return `${url.href}#wechat_redirect`;
}

/** Spends the state: the first caller gets what it stands for; a spent or expired one is a 400. */
async function spendState(env: Env, tenantId: string, jti: string, now: number): Promise<Pending> {
  const [record] = await database(env.DB)
    .update(idempotencyRecords)
    .set({ responseStatus: 302 })
    .where(
      and(
        eq(idempotencyRecords.tenantId, tenantId),
        eq(idempotencyRecords.key, `wechat-sso ${jti}`),
        isNull(idempotencyRecords.responseStatus),
        gt(idempotencyRecords.expiresAt, now),
      ),
    )
    .returning({ body: idempotencyRecords.responseBody });
  const pending = Pending.safeParse(JSON.parse(record?.body ?? "null"));
  if (!pending.success) {
    throw badQuery("state", "has already been used, or has expired; sign in again");
  }
  return pending.data;
}

/** WeChat's refusal as a problem for the person's browser. */
function refusal(error: SnsError): ApiError {
  switch (error.errcode) {
    case 40029:
      return badQuery("code", "is not valid, or has expired (WeChat errcode 40029); sign in again");
    case 40163:
      return badQuery("code", "has already been used (WeChat errcode 40163); sign in again");
    case 48001:
    case 50001:
      return new ApiError(
        "forbidden",
        `WeChat does not allow this account web sign-in (errcode ${error.errcode}): it needs a verified service account with the OAuth domain set.`,
      );
    case 40013:
      return new ApiError(
        "provider-unavailable",
        "WeChat does not know this app id (errcode 40013).",
      );
    case 40125:
    case 40001:
      return new ApiError(
        "provider-unavailable",
        `WeChat refused the app's credentials (errcode ${error.errcode}); the app's AppSecret may have changed.`,
      );
    default:
      return new ApiError(
        "provider-unavailable",
        `WeChat refused ${error.detail} (errcode ${error.errcode ?? "none"}).`,
      );
  }
}

/** The external id of the contact bound to `openid` in this app, or null. */
async function boundContact(
  env: Env,
  tenantId: string,
  appId: string,
  openid: string,
): Promise<string | null> {
  const [row] = await database(env.DB)
    .select({ externalId: contacts.externalId })
    .from(contactWeChatBindings)
    .innerJoin(contacts, eq(contacts.id, contactWeChatBindings.contactId))
    .where(
      and(
        eq(contactWeChatBindings.tenantId, tenantId),
        eq(contactWeChatBindings.appId, appId),
        eq(contactWeChatBindings.openid, openid),
      ),
    )
    .limit(1);
  return row?.externalId ?? null;
}

/**
 * Checks and spends the state, asks WeChat who the person is, and gives where to send the
 * browser: the state's redirect with `id_token`, or with `error=access_denied` when the person
 * declined in WeChat (WeChat comes back with the state and no code).
 */
export async function receiveSsoCallback(
  env: Env,
  appId: string,
  query: Record<string, string>,
  io: SsoIO = defaultIO(env),
): Promise<string> {
  const jti = await readState(env, query.state ?? "", io.now);
  if (jti === null) {
    throw badQuery("state", "is not valid, or has expired; sign in again");
  }
  const app = await readyWeChatApp(env, appId, io.now);
  if (!app) {
    throw new ApiError("not-found", `No WeChat app ${appId}.`);
  }
  const pending = await spendState(env, app.row.tenantId, jti, io.now);
  if (pending.app !== appId) {
    throw badQuery("state", "was made for another app");
  }
  const redirect = new URL(pending.redirect);
  const code = query.code ?? "";
  if (code === "") {
    redirect.searchParams.set("error", "access_denied");
    return redirect.href;
  }
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(code)) {
    throw badQuery("code", "is not one WeChat gives");
  }
  const apiBaseUrl = app.row.apiBaseUrl ?? WECHAT_API_BASE_URL;
  const identity = await exchangeSnsCode(
    io.fetch,
    apiBaseUrl,
    { appId, secret: app.secrets.app_secret },
    code,
  );
  if (!identity.ok) {
    throw refusal(identity.error);
  }
  let { unionid } = identity.value;
  let nickname: string | null = null;
  if (pending.scope === "snsapi_userinfo") {
    const info = await fetchSnsUserInfo(io.fetch, apiBaseUrl, identity.value);
    if (!info.ok) {
      throw refusal(info.error);
    }
    nickname = info.value.nickname;
    unionid = unionid ?? info.value.unionid;
  }
  const { openid } = identity.value;
  const contact = await boundContact(env, app.row.tenantId, appId, openid);
  const now = Math.floor(io.now / 1000);
  const token = await signWithAppKey(
    env,
    { appId, tenantId: app.row.tenantId },
    {
      iss: ssoIssuer(env, appId),
      aud: appId,
      sub: openid,
      iat: now,
      exp: now + ID_TOKEN_TTL_SECONDS,
      jti: crypto.randomUUID(),
      scope: pending.scope,
      ...(unionid ? { unionid } : {}),
      ...(contact ? { contact } : {}),
      ...(nickname ? { nickname } : {}),
    },
    io.now,
  );
  redirect.searchParams.set("id_token", token);
  return redirect.href;
}
