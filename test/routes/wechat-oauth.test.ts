import { env } from "cloudflare:test";
import { jwtVerify } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { receiveOAuthCallback } from "../../src/services/wechat/oauth";
import { expectProblem } from "../support/problem";
import { fakeNetwork, redirectingTo } from "../support/redirecting-network";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import { wechatApp } from "../support/wechat";

const SECRET = "0123456789abcdef0123456789abcdef";
const REDIRECT = "https://shop.example.com/bound?order=7";

interface Setup {
  tenant: TestTenant;
  appId: string;
}

async function setUp(): Promise<Setup> {
  const tenant = await createTenant();
  const appId = await wechatApp(tenant, "plaintext");
  await tenant.api("/v1/contacts", postJson({ external_id: "buyer-1" }));
  return { tenant, appId };
}

/** Makes a link, opens it as the person's browser would and returns WeChat's state. */
async function startFlow({ tenant, appId }: Setup, scope = "snsapi_base"): Promise<string> {
  const res = await tenant.api(
    `/v1/contacts/buyer-1/wechat/${appId}/oauth-link`,
    postJson({ scope, redirect: REDIRECT }),
  );
  expect(res.status).toBe(200);
  const { url } = (await res.json()) as { url: string };
  const link = new URL(url);
  expect(link.origin + link.pathname).toBe(`http://127.0.0.1:8787/wechat/${appId}/oauth/start`);
  const start = await call(link.pathname + link.search, null);
  expect(start.status).toBe(302);
  const location = start.headers.get("location") ?? "";
  expect(location.endsWith("#wechat_redirect")).toBe(true);
  const authorize = new URL(location);
  expect(authorize.origin + authorize.pathname).toBe(
    "https://open.weixin.qq.com/connect/oauth2/authorize",
  );
  expect(authorize.searchParams.get("appid")).toBe(appId);
  expect(authorize.searchParams.get("redirect_uri")).toBe(
    `http://127.0.0.1:8787/wechat/${appId}/oauth/callback`,
  );
  expect(location).toContain(
    `redirect_uri=${encodeURIComponent(`http://127.0.0.1:8787/wechat/${appId}/oauth/callback`)}`,
  );
  expect(authorize.searchParams.get("response_type")).toBe("code");
  expect(authorize.searchParams.get("scope")).toBe(scope);
  const state = authorize.searchParams.get("state") ?? "";
  // WeChat takes a state of at most 128 bytes.
  expect(state.length).toBeLessThanOrEqual(128);
  return state;
}

/** WeChat's /sns/oauth2/access_token, answering `answer` and recording each request. */
function fakeTokenEndpoint(answer: Record<string, unknown>): URL[] {
  const requests: URL[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push(url);
    return Response.json(answer);
  });
  return requests;
}

function callback(appId: string, state: string, code = "061abcDEF"): Promise<Response> {
  return call(`/wechat/${appId}/oauth/callback?code=${code}&state=${state}`, null);
}

async function bindings(tenant: TestTenant): Promise<unknown[]> {
  const res = await tenant.api("/v1/contacts/buyer-1");
  return ((await res.json()) as { wechat: unknown[] }).wechat;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("WeChat OAuth binding", () => {
  it("binds the openid WeChat gives for the code and sends the browser back", async () => {
    const setup = await setUp();
    const state = await startFlow(setup, "snsapi_userinfo");
    const requests = fakeTokenEndpoint({
      access_token: "ACCESS",
      expires_in: 7200,
      openid: "oBoundByOAuth",
      scope: "snsapi_userinfo",
    });
    const res = await callback(setup.appId, state);
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location") ?? "");
    expect(back.origin + back.pathname).toBe("https://shop.example.com/bound");
    expect(back.searchParams.get("order")).toBe("7");
    expect(back.searchParams.get("bound")).toBe("1");
    expect(requests).toHaveLength(1);
    const [exchange] = requests;
    expect(exchange?.origin + (exchange?.pathname ?? "")).toBe(
      "https://api.weixin.qq.com/sns/oauth2/access_token",
    );
    expect(Object.fromEntries(exchange?.searchParams ?? [])).toEqual({
      appid: setup.appId,
      secret: SECRET,
      code: "061abcDEF",
      grant_type: "authorization_code",
    });
    expect(await bindings(setup.tenant)).toMatchObject([
      { app_id: setup.appId, openid: "oBoundByOAuth", source: "oauth" },
    ]);

    // Unbinding goes through the contacts API.
    const unbound = await setup.tenant.api(`/v1/contacts/buyer-1/wechat/${setup.appId}`, {
      method: "DELETE",
    });
    expect(unbound.status).toBe(204);
    expect(await bindings(setup.tenant)).toEqual([]);
  });

  it("signs links with HKDF-SHA256 of MASTER_KEY (empty salt, info `relaybox wechat oauth v1`)", async () => {
    const { tenant, appId } = await setUp();
    const res = await tenant.api(
      `/v1/contacts/buyer-1/wechat/${appId}/oauth-link`,
      postJson({ scope: "snsapi_base", redirect: REDIRECT }),
    );
    const sig = new URL(((await res.json()) as { url: string }).url).searchParams.get("sig") ?? "";
    // The key computed outside the Worker (RFC 5869) from the test MASTER_KEY.
    const key = Uint8Array.from(
      "ec0a235d979517a5b19ccb9866394f27b6b78c6e81b11d5a2d0fe07c2d7b18d0".match(/../g) ?? [],
      (pair) => Number.parseInt(pair, 16),
    );
    const { payload } = await jwtVerify(sig, key, { audience: "relaybox:wechat-oauth-link" });
    expect(payload).toMatchObject({ ext: "buyer-1", app: appId, redirect: REDIRECT });
  });

  it("refuses a state used twice, without a second exchange or binding", async () => {
    const setup = await setUp();
    const state = await startFlow(setup);
    const requests = fakeTokenEndpoint({ openid: "oOnce" });
    expect((await callback(setup.appId, state)).status).toBe(302);
    await setup.tenant.api(`/v1/contacts/buyer-1/wechat/${setup.appId}`, { method: "DELETE" });
    await expectProblem(await callback(setup.appId, state, "061other"), {
      status: 409,
      slug: "conflict",
      instance: `/wechat/${setup.appId}/oauth/callback`,
      pointers: ["/query/state"],
    });
    expect(requests).toHaveLength(1);
    expect(await bindings(setup.tenant)).toEqual([]);
  });

  it("refuses a state with one character changed", async () => {
    const setup = await setUp();
    const state = await startFlow(setup);
    const requests = fakeTokenEndpoint({ openid: "oTampered" });
    const signatureStart = state.lastIndexOf(".") + 1;
    const changed = state.charAt(signatureStart) === "A" ? "B" : "A";
    const tampered = state.slice(0, signatureStart) + changed + state.slice(signatureStart + 1);
    await expectProblem(await callback(setup.appId, tampered), {
      status: 400,
      slug: "validation-error",
      instance: `/wechat/${setup.appId}/oauth/callback`,
      pointers: ["/query/state"],
    });
    expect(requests).toHaveLength(0);
    expect(await bindings(setup.tenant)).toEqual([]);
    // The untouched state still works: the refusal did not spend it.
    expect((await callback(setup.appId, state)).status).toBe(302);
  });

  it("refuses an expired state", async () => {
    const setup = await setUp();
    const state = await startFlow(setup);
    const fetch = vi.fn(async () => Response.json({ openid: "oLate" }));
    await expect(
      receiveOAuthCallback(
        env,
        setup.appId,
        { code: "061late", state },
        { fetch, now: Date.now() + 11 * 60 * 1000 },
      ),
    ).rejects.toMatchObject({ slug: "validation-error", status: 400 });
    expect(fetch).not.toHaveBeenCalled();
    expect(await bindings(setup.tenant)).toEqual([]);
  });

  it("refuses a code WeChat says was already used (40163)", async () => {
    const setup = await setUp();
    const state = await startFlow(setup);
    fakeTokenEndpoint({ errcode: 40163, errmsg: "code been used" });
    await expectProblem(await callback(setup.appId, state), {
      status: 409,
      slug: "conflict",
      instance: `/wechat/${setup.appId}/oauth/callback`,
      pointers: ["/query/code"],
    });
    expect(await bindings(setup.tenant)).toEqual([]);
  });

  it("does not follow a redirect from WeChat's code exchange: the AppSecret stays, the error says why", async () => {
    const setup = await setUp();
    const state = await startFlow(setup);
    const network = fakeNetwork({
      "api.weixin.qq.com": redirectingTo("https://refused.fake"),
      "refused.fake": () => Response.json({ openid: "oStolen" }),
    });
    vi.spyOn(globalThis, "fetch").mockImplementation((input) =>
      network.fetch(input instanceof Request ? input : new Request(String(input))),
    );
    const body = await expectProblem(await callback(setup.appId, state), {
      status: 503,
      slug: "provider-unavailable",
      instance: `/wechat/${setup.appId}/oauth/callback`,
      detail: /redirect.*307.*refused\.fake/i,
    });
    expect(body.detail).not.toContain(SECRET);
    expect(network.receivedBy("refused.fake")).toEqual([]);
    expect(await bindings(setup.tenant)).toEqual([]);
  });

  it("refuses a link for a redirect that is not https, or opened for another app", async () => {
    const setup = await setUp();
    const path = `/v1/contacts/buyer-1/wechat/${setup.appId}/oauth-link`;
    for (const redirect of ["http://shop.example.com/", "https://user:pw@shop.example.com/"]) {
      await expectProblem(await setup.tenant.api(path, postJson({ redirect })), {
        status: 422,
        slug: "unprocessable-entity",
        instance: path,
        pointers: ["/redirect"],
      });
    }
    const other = await wechatApp(setup.tenant, "plaintext");
    const res = await setup.tenant.api(path, postJson({ redirect: REDIRECT }));
    const link = new URL(((await res.json()) as { url: string }).url);
    await expectProblem(await call(`/wechat/${other}/oauth/start${link.search}`, null), {
      status: 400,
      slug: "validation-error",
      instance: `/wechat/${other}/oauth/start`,
      pointers: ["/query/sig"],
    });
  });

  it("opens as start?contact=&scope=&redirect= with a signature that pins all three", async () => {
    const setup = await setUp();
    const res = await setup.tenant.api(
      `/v1/contacts/buyer-1/wechat/${setup.appId}/oauth-link`,
      postJson({ scope: "snsapi_userinfo", redirect: REDIRECT }),
    );
    const link = new URL(((await res.json()) as { url: string }).url);
    expect(link.searchParams.get("contact")).toBe("buyer-1");
    expect(link.searchParams.get("scope")).toBe("snsapi_userinfo");
    expect(link.searchParams.get("redirect")).toBe(REDIRECT);
    for (const [name, value] of [
      ["contact", "someone-else"],
      ["scope", "snsapi_base"],
      ["redirect", "https://evil.example.com/"],
    ] as const) {
      const changed = new URL(link);
      changed.searchParams.set(name, value);
      await expectProblem(await call(changed.pathname + changed.search, null), {
        status: 400,
        slug: "validation-error",
        instance: link.pathname,
        pointers: ["/query/sig"],
      });
    }
  });
});
