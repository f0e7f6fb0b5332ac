import { env } from "cloudflare:test";
import { createLocalJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ProblemSlug } from "../../src/lib/problem";
import { receiveSsoCallback } from "../../src/services/wechat/sso";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import { wechatApp } from "../support/wechat";
import { FOLLOWERS, sandboxApp } from "../support/wechat-sandbox";

const SECRET = "0123456789abcdef0123456789abcdef";
const BASE = "http://127.0.0.1:8787";
const REDIRECT = "https://shop.example.com/signed-in?from=wechat";

interface Setup {
  tenant: TestTenant;
  appId: string;
}

async function allow(tenant: TestTenant, appId: string, urls: string[]): Promise<Response> {
  return tenant.api(`/v1/wechat/apps/${appId}/sso`, {
    method: "PUT",
    body: JSON.stringify({ sso_redirect_urls: urls }),
  });
}

async function setUp(): Promise<Setup> {
  const tenant = await createTenant();
  const appId = await wechatApp(tenant, "plaintext");
  expect((await allow(tenant, appId, [REDIRECT])).status).toBe(200);
  return { tenant, appId };
}

/** Opens the login as the person's browser would and returns WeChat's state. */
async function login({ appId }: Setup, scope: string, redirect = REDIRECT): Promise<string> {
  const query = new URLSearchParams({ redirect, scope });
  const res = await call(`/wechat/${appId}/oauth/login?${query}`, null);
  expect(res.status, await res.clone().text()).toBe(302);
  const location = res.headers.get("location") ?? "";
  expect(location.endsWith("#wechat_redirect")).toBe(true);
  const authorize = new URL(location);
  expect(authorize.origin + authorize.pathname).toBe(
    "https://open.weixin.qq.com/connect/oauth2/authorize",
  );
  const state = authorize.searchParams.get("state") ?? "";
  expect(Object.fromEntries(authorize.searchParams)).toEqual({
    appid: appId,
    redirect_uri: `${BASE}/wechat/${appId}/oauth/login/callback`,
    response_type: "code",
    scope,
    state,
  });
  expect(state.length).toBeLessThanOrEqual(128);
  return state;
}

/** WeChat's /sns/… endpoints answering by path, recording every request. */
function fakeSns(answers: Record<string, Record<string, unknown>>): URL[] {
  const requests: URL[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push(url);
    return Response.json(answers[url.pathname] ?? { errcode: -1, errmsg: "system error" });
  });
  return requests;
}

function callback(appId: string, state: string, code = "061abcDEF", accept?: string) {
  const headers = accept ? { accept } : undefined;
  return call(`/wechat/${appId}/oauth/login/callback?code=${code}&state=${state}`, null, {
    headers,
  });
}

async function jwksOf(appId: string) {
  const res = await call(`/wechat/${appId}/jwks.json`, null);
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("public, max-age=300");
  return (await res.json()) as { keys: { kid: string; kty: string; alg: string }[] };
}

async function verified(appId: string, token: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(await jwksOf(appId)), {
    issuer: `${BASE}/wechat/${appId}`,
    audience: appId,
    algorithms: ["ES256"],
  });
  return payload;
}

function tokenIn(location: string | null): string {
  const back = new URL(location ?? "");
  return back.searchParams.get("id_token") ?? "";
}

const TOKEN_ANSWER = {
  access_token: "WEB_ACCESS",
  expires_in: 7200,
  refresh_token: "REFRESH",
  openid: "oSignedIn",
  scope: "snsapi_userinfo",
  unionid: "uUnion42",
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("sign-in with WeChat", () => {
  it("runs WeChat's OAuth and returns a token verified with the published JWKS, with unionid, contact and nickname", async () => {
    const setup = await setUp();
    const { tenant, appId } = setup;
    const made = await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "member-9", wechat: [{ app_id: appId, openid: "oSignedIn" }] }),
    );
    expect(made.status).toBe(201);
    const state = await login(setup, "snsapi_userinfo");
    const requests = fakeSns({
      "/sns/oauth2/access_token": TOKEN_ANSWER,
      "/sns/userinfo": { openid: "oSignedIn", nickname: "小明", unionid: "uUnion42" },
    });
    const res = await callback(appId, state);
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location") ?? "");
    expect(back.origin + back.pathname).toBe("https://shop.example.com/signed-in");
    expect(back.searchParams.get("from")).toBe("wechat");
    expect(requests.map((url) => url.origin + url.pathname)).toEqual([
      "https://api.weixin.qq.com/sns/oauth2/access_token",
      "https://api.weixin.qq.com/sns/userinfo",
    ]);
    expect(Object.fromEntries(requests[0]?.searchParams ?? [])).toEqual({
      appid: appId,
      secret: SECRET,
      code: "061abcDEF",
      grant_type: "authorization_code",
    });
    expect(Object.fromEntries(requests[1]?.searchParams ?? [])).toEqual({
      access_token: "WEB_ACCESS",
      openid: "oSignedIn",
      lang: "zh_CN",
    });
    const token = back.searchParams.get("id_token") ?? "";
    const payload = await verified(appId, token);
    expect(payload).toMatchObject({
      sub: "oSignedIn",
      unionid: "uUnion42",
      contact: "member-9",
      nickname: "小明",
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    const { keys } = await jwksOf(appId);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "EC", alg: "ES256" });
    expect(keys[0]).not.toHaveProperty("d");
    expect(decodeProtectedHeader(token).kid).toBe(keys[0]?.kid);
  });

  it("with snsapi_base asks only for the openid, and leaves out what WeChat and the contacts do not give", async () => {
    const setup = await setUp();
    const state = await login(setup, "snsapi_base");
    const { unionid: _, ...withoutUnion } = TOKEN_ANSWER;
    const requests = fakeSns({ "/sns/oauth2/access_token": { ...withoutUnion, openid: "oBare" } });
    const res = await callback(setup.appId, state);
    expect(res.status).toBe(302);
    expect(requests).toHaveLength(1);
    const payload = await verified(setup.appId, tokenIn(res.headers.get("location")));
    expect(payload.sub).toBe("oBare");
    expect(payload).not.toHaveProperty("unionid");
    expect(payload).not.toHaveProperty("contact");
    expect(payload).not.toHaveProperty("nickname");
  });

  it("returns only to a listed URL, exactly: anything else is a 400 page with no redirect", async () => {
    const setup = await setUp();
    const refused = [
      "https://shop.example.com/signed-in?from=wechat&x=1",
      "https://shop.example.com/signed-in",
      "https://shop.example.com/signed-in/?from=wechat",
      "http://shop.example.com/signed-in?from=wechat",
      "https://evil.example.com/signed-in?from=wechat",
      "//evil.example.com",
    ];
    for (const redirect of refused) {
      const query = new URLSearchParams({ redirect, scope: "snsapi_base" });
      const path = `/wechat/${setup.appId}/oauth/login`;
      const res = await call(`${path}?${query}`, null);
      expect(res.headers.get("location")).toBeNull();
      await expectProblem(res, {
        status: 400,
        slug: "validation-error",
        instance: path,
        pointers: ["/query/redirect"],
      });
    }
    const page = await call(
      `/wechat/${setup.appId}/oauth/login?redirect=https%3A%2F%2Fevil.example.com%2F`,
      null,
      { headers: { accept: "text/html,application/xhtml+xml" } },
    );
    expect(page.status).toBe(400);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("location")).toBeNull();
    const html = await page.text();
    expect(html).toContain("is not one of this app&#39;s sign-in redirect URLs");
    expect(html).not.toMatch(/at \w+ \(/);
  });

  it("checks the listed URLs: https, or http on the loopback hosts; the change is audited", async () => {
    const { tenant, appId } = await setUp();
    const bad = await allow(tenant, appId, [
      "http://shop.example.com/",
      "https://a.example.com/#x",
    ]);
    await expectProblem(bad, {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/wechat/apps/${appId}/sso`,
      pointers: ["/sso_redirect_urls/0", "/sso_redirect_urls/1"],
    });
    const local = ["http://127.0.0.1:3000/cb", "http://localhost:3000/cb", REDIRECT];
    const ok = await allow(tenant, appId, local);
    expect(await ok.json()).toEqual({
      app_id: appId,
      sso_redirect_urls: local,
      login_url: `${BASE}/wechat/${appId}/oauth/login`,
      issuer: `${BASE}/wechat/${appId}`,
      jwks_url: `${BASE}/wechat/${appId}/jwks.json`,
    });
    const audit = (await (await tenant.api("/v1/audit?limit=5")).json()) as {
      data: { action: string; target: string; diff: Record<string, { to: unknown }> }[];
    };
    expect(audit.data[0]).toMatchObject({
      action: "wechat_app.update",
      target: appId,
      diff: { sso_redirect_urls: { to: local } },
    });
  });

  it("spends the state once: a second callback is a 400 with no second exchange", async () => {
    const setup = await setUp();
    const state = await login(setup, "snsapi_base");
    const requests = fakeSns({ "/sns/oauth2/access_token": TOKEN_ANSWER });
    expect((await callback(setup.appId, state)).status).toBe(302);
    await expectProblem(await callback(setup.appId, state, "061other"), {
      status: 400,
      slug: "validation-error",
      instance: `/wechat/${setup.appId}/oauth/login/callback`,
      pointers: ["/query/state"],
    });
    expect(requests).toHaveLength(1);
  });

  it("refuses an expired state, and a state of the contact-binding flow", async () => {
    const setup = await setUp();
    const state = await login(setup, "snsapi_base");
    const fetch = vi.fn(async () => Response.json(TOKEN_ANSWER));
    await expect(
      receiveSsoCallback(
        env,
        setup.appId,
        { code: "061late", state },
        {
          fetch,
          now: Date.now() + 11 * 60_000,
        },
      ),
    ).rejects.toMatchObject({ slug: "validation-error", status: 400 });
    expect(fetch).not.toHaveBeenCalled();

    await setup.tenant.api("/v1/contacts", postJson({ external_id: "buyer-1" }));
    const link = await setup.tenant.api(
      `/v1/contacts/buyer-1/wechat/${setup.appId}/oauth-link`,
      postJson({ redirect: "https://shop.example.com/bound" }),
    );
    const url = new URL(((await link.json()) as { url: string }).url);
    const start = await call(url.pathname + url.search, null);
    const bindingState = new URL(start.headers.get("location") ?? "").searchParams.get("state");
    const requests = fakeSns({ "/sns/oauth2/access_token": TOKEN_ANSWER });
    await expectProblem(await callback(setup.appId, bindingState ?? ""), {
      status: 400,
      slug: "validation-error",
      instance: `/wechat/${setup.appId}/oauth/login/callback`,
      pointers: ["/query/state"],
    });
    expect(requests).toHaveLength(0);
  });

  it("signs with the app's own key: another app's JWKS does not verify it", async () => {
    const first = await setUp();
    const second = await setUp();
    fakeSns({ "/sns/oauth2/access_token": TOKEN_ANSWER });
    const one = tokenIn(
      (await callback(first.appId, await login(first, "snsapi_base"))).headers.get("location"),
    );
    const two = tokenIn(
      (await callback(second.appId, await login(second, "snsapi_base"))).headers.get("location"),
    );
    expect(decodeProtectedHeader(one).kid).not.toBe(decodeProtectedHeader(two).kid);
    await expect(
      jwtVerify(one, createLocalJWKSet(await jwksOf(second.appId)), { audience: first.appId }),
    ).rejects.toThrow();
    expect((await verified(second.appId, two)).sub).toBe("oSignedIn");
  });

  it("rotates the key: the JWKS keeps the previous key, so a token signed before still verifies", async () => {
    const setup = await setUp();
    fakeSns({ "/sns/oauth2/access_token": TOKEN_ANSWER });
    const before = tokenIn(
      (await callback(setup.appId, await login(setup, "snsapi_base"))).headers.get("location"),
    );
    const rotate = () =>
      setup.tenant.api(`/v1/wechat/apps/${setup.appId}/sso/rotate-key`, postJson({}));
    const first = (await (await rotate()).json()) as { kid: string; previous_kid: string };
    expect(first.previous_kid).toBe(decodeProtectedHeader(before).kid);
    expect((await jwksOf(setup.appId)).keys.map((k) => k.kid)).toEqual([
      first.kid,
      first.previous_kid,
    ]);
    expect((await verified(setup.appId, before)).sub).toBe("oSignedIn");
    const after = tokenIn(
      (await callback(setup.appId, await login(setup, "snsapi_base"))).headers.get("location"),
    );
    expect(decodeProtectedHeader(after).kid).toBe(first.kid);
    const second = (await (await rotate()).json()) as { kid: string; previous_kid: string };
    expect((await jwksOf(setup.appId)).keys.map((k) => k.kid)).toEqual([second.kid, first.kid]);
    await expect(verified(setup.appId, before)).rejects.toThrow();

    // Deleting the app deletes its keys: a next owner of the app id starts with none.
    const gone = await setup.tenant.api(`/v1/wechat/apps/${setup.appId}`, { method: "DELETE" });
    expect(gone.status).toBe(204);
    expect((await jwksOf(setup.appId)).keys).toEqual([]);
  });

  it("maps WeChat's errcodes to a page the person can read", async () => {
    const cases: [Record<string, Record<string, unknown>>, number, ProblemSlug, string[]?][] = [
      [
        { "/sns/oauth2/access_token": { errcode: 40029, errmsg: "invalid code" } },
        400,
        "validation-error",
        ["/query/code"],
      ],
      [
        { "/sns/oauth2/access_token": { errcode: 40163, errmsg: "code been used" } },
        400,
        "validation-error",
        ["/query/code"],
      ],
      [
        {
          "/sns/oauth2/access_token": TOKEN_ANSWER,
          "/sns/userinfo": { errcode: 48001, errmsg: "api unauthorized" },
        },
        403,
        "forbidden",
      ],
      [
        { "/sns/oauth2/access_token": { errcode: -1, errmsg: "system error" } },
        503,
        "provider-unavailable",
      ],
    ];
    for (const [answers, status, slug, pointers] of cases) {
      vi.restoreAllMocks();
      const setup = await setUp();
      const state = await login(setup, "snsapi_userinfo");
      fakeSns(answers);
      const res = await callback(setup.appId, state);
      expect(res.headers.get("location")).toBeNull();
      const body = await expectProblem(res, {
        status,
        slug,
        instance: `/wechat/${setup.appId}/oauth/login/callback`,
        ...(pointers ? { pointers } : {}),
      });
      expect(body.detail).not.toContain(SECRET);
    }
  });

  it("sends the person back with error=access_denied when they decline in WeChat", async () => {
    const setup = await setUp();
    const state = await login(setup, "snsapi_userinfo");
    const requests = fakeSns({});
    const res = await call(`/wechat/${setup.appId}/oauth/login/callback?state=${state}`, null);
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location") ?? "");
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("id_token")).toBeNull();
    expect(requests).toHaveLength(0);
  });
});

describe("sign-in with WeChat against the local sandbox", () => {
  it("signs in a sandbox follower through the sandbox's authorize page, code exchange and user info", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant, "plaintext");
    const local = "http://localhost:3000/after-login";
    const set = await app.live(`/v1/wechat/apps/${app.appId}/sso`, {
      method: "PUT",
      body: JSON.stringify({ sso_redirect_urls: [local] }),
    });
    expect(set.status).toBe(200);
    const query = new URLSearchParams({ redirect: local, scope: "snsapi_userinfo" });
    const start = await call(`/wechat/${app.appId}/oauth/login?${query}`, null);
    const authorize = new URL(start.headers.get("location") ?? "");
    expect(authorize.origin + authorize.pathname).toBe(
      `${BASE}/sandbox/wechat/connect/oauth2/authorize`,
    );
    const page = await call(authorize.pathname + authorize.search, null);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(FOLLOWERS[0]);
    expect(html).toContain("Alice");
    const agreed = await call(
      `${authorize.pathname}${authorize.search}&follower=${FOLLOWERS[0]}`,
      null,
    );
    expect(agreed.status).toBe(302);
    const back = new URL(agreed.headers.get("location") ?? "");
    expect(back.origin + back.pathname).toBe(`${BASE}/wechat/${app.appId}/oauth/login/callback`);
    const code = back.searchParams.get("code") ?? "";
    const done = await call(back.pathname + back.search, null);
    expect(done.status, await done.clone().text()).toBe(302);
    const landing = new URL(done.headers.get("location") ?? "");
    expect(landing.origin + landing.pathname).toBe(local);
    const payload = await verified(app.appId, landing.searchParams.get("id_token") ?? "");
    expect(payload).toMatchObject({
      sub: FOLLOWERS[0],
      unionid: "uSandboxUnion0000000000001",
      nickname: "Alice",
    });
    // The sandbox's codes work once, as WeChat's.
    const again = await call(
      `/sandbox/wechat/sns/oauth2/access_token?appid=${app.appId}&secret=5a4db0c5a4db0c5a4db0c5a4db0c5a4d&code=${code}&grant_type=authorization_code`,
      null,
    );
    expect(await again.json()).toEqual({ errcode: 40163, errmsg: "code been used" });
  });

  it("refuses a redirect_uri off the account's OAuth domain (10003)", async () => {
    const { appId } = await sandboxApp(await createTenant(), "plaintext");
    const query = new URLSearchParams({
      appid: appId,
      redirect_uri: "https://evil.example.com/cb",
      response_type: "code",
      scope: "snsapi_base",
      state: "s",
      follower: FOLLOWERS[0],
    });
    const res = await call(`/sandbox/wechat/connect/oauth2/authorize?${query}`, null);
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toContain("10003");
  });
});
