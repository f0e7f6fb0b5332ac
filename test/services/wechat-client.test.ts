import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { settingsOf } from "../../src/config/settings";
import { database } from "../../src/db/client";
import { wechatApps } from "../../src/db/schema";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import type { WeChatAccount } from "../../src/durable-objects/wechat-account/wechat-account";
import { encryptSecret } from "../../src/lib/secrets";
import { callWeChat } from "../../src/services/wechat/client";
import { createTenant } from "../support/tenants";

const HOUR = 3_600_000;
let apps = 0;

interface ApiCall {
  method: string;
  url: URL;
  body: string;
}

/**
 * A WeChat app whose WeChatAccount gets tokens from a fake stable_token endpoint (`token-1`,
 * `token-2`, ..., after a short wait so concurrent callers overlap), and a fake WeChat API that
 * answers each call with what `reply` returns for its token.
 */
async function fakeWeChat(reply: (token: string, call: number) => Record<string, unknown>) {
  const tenant = await createTenant();
  apps += 1;
  const appId = `wxc${String(apps).padStart(15, "0")}`;
  const now = Date.now();
  await database(env.DB)
    .insert(wechatApps)
    .values({
      appId,
      tenantId: tenant.id,
      mode: "safe",
      secretCiphertext: await encryptSecret(
        settingsOf(env).MASTER_KEY,
        "provider-credentials",
        JSON.stringify({ app_secret: "s3cret", token: "tok", encoding_aes_key: "k".repeat(43) }),
      ),
      apiBaseUrl: "https://wx.fake",
      tokenEndpoint: "stable_token",
      createdAt: now,
      updatedAt: now,
    });
  const clock = { now };
  const tokenRequests: Record<string, unknown>[] = [];
  await runInDurableObject(wechatAccountOf(env, appId), (instance: WeChatAccount) => {
    Object.defineProperty(instance, "io", {
      value: {
        now: () => clock.now,
        fetch: async (request: Request) => {
          tokenRequests.push(await request.json());
          await new Promise((resolve) => setTimeout(resolve, 20));
          return Response.json({
            access_token: `token-${tokenRequests.length}`,
            expires_in: 7200,
          });
        },
      },
    });
  });
  const apiCalls: ApiCall[] = [];
  const fetch = async (request: Request) => {
    const url = new URL(request.url);
    apiCalls.push({ method: request.method, url, body: await request.text() });
    return Response.json(reply(url.searchParams.get("access_token") ?? "", apiCalls.length));
  };
  return { appId, clock, tokenRequests, apiCalls, io: { fetch } };
}

const ok = { errcode: 0, errmsg: "ok", msgid: 1 };

describe("callWeChat", () => {
  it("makes twenty concurrent calls with an expired token fetch exactly one token", async () => {
    const { appId, clock, tokenRequests, apiCalls, io } = await fakeWeChat(() => ok);
    await callWeChat(env, appId, "/cgi-bin/get_api_domain_ip", {}, io);
    clock.now += 2 * HOUR;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        callWeChat(env, appId, "/cgi-bin/message/custom/send", { body: { n } }, io),
      ),
    );
    expect(tokenRequests).toHaveLength(2);
    expect(answers.every((answer) => answer.ok)).toBe(true);
    expect(apiCalls.slice(1).map((c) => c.url.searchParams.get("access_token"))).toEqual(
      Array(20).fill("token-2"),
    );
  });

  it("sends the token, the query and a JSON body to the app's API base URL", async () => {
    const { appId, apiCalls, io } = await fakeWeChat(() => ok);
    const answer = await callWeChat(
      env,
      appId,
      "/cgi-bin/message/custom/send",
      {
        query: { lang: "zh_CN" },
        body: { touser: "o1", msgtype: "text", text: { content: "你好" } },
      },
      io,
    );
    expect(answer).toEqual({ ok: true, value: ok });
    expect(apiCalls).toHaveLength(1);
    expect(apiCalls[0]?.method).toBe("POST");
    expect(apiCalls[0]?.url.toString()).toBe(
      "https://wx.fake/cgi-bin/message/custom/send?lang=zh_CN&access_token=token-1",
    );
    expect(apiCalls[0]?.body).toBe('{"touser":"o1","msgtype":"text","text":{"content":"你好"}}');
  });

  it("on 42001 gets a new token by a normal refresh and retries once", async () => {
    const { appId, tokenRequests, apiCalls, io } = await fakeWeChat((token) =>
      token === "token-1" ? { errcode: 42001, errmsg: "access_token expired" } : ok,
    );
    const answer = await callWeChat(env, appId, "/cgi-bin/user/info", {}, io);
    expect(answer).toEqual({ ok: true, value: ok });
    expect(tokenRequests).toMatchObject([{ force_refresh: false }, { force_refresh: false }]);
    expect(apiCalls.map((c) => c.url.searchParams.get("access_token"))).toEqual([
      "token-1",
      "token-2",
    ]);
  });

  it("on 40001 forces a refresh and retries once", async () => {
    const { appId, tokenRequests, apiCalls, io } = await fakeWeChat((token) =>
      token === "token-1" ? { errcode: 40001, errmsg: "invalid credential" } : ok,
    );
    const answer = await callWeChat(env, appId, "/cgi-bin/user/info", {}, io);
    expect(answer).toEqual({ ok: true, value: ok });
    expect(tokenRequests).toMatchObject([{ force_refresh: false }, { force_refresh: true }]);
    expect(apiCalls).toHaveLength(2);
  });

  it("retries only once: a second 40001 is returned as WeChat's error", async () => {
    const { appId, tokenRequests, apiCalls, io } = await fakeWeChat(() => ({
      errcode: 40001,
      errmsg: "invalid credential",
    }));
    const answer = await callWeChat(env, appId, "/cgi-bin/user/info", {}, io);
    expect(answer).toEqual({
      ok: false,
      error: {
        code: "wechat-error",
        retryable: false,
        message: "WeChat error 40001",
        errcode: 40001,
        errmsg: "invalid credential",
      },
    });
    expect(tokenRequests).toHaveLength(2);
    expect(apiCalls).toHaveLength(2);
  });

  it("makes twenty concurrent calls refused with 40001 force exactly one refresh", async () => {
    const { appId, tokenRequests, io } = await fakeWeChat((token) =>
      token === "token-1" ? { errcode: 40001, errmsg: "invalid credential" } : ok,
    );
    await wechatAccountOf(env, appId).accessToken({ appId });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => callWeChat(env, appId, "/cgi-bin/user/info", {}, io)),
    );
    expect(answers.every((answer) => answer.ok)).toBe(true);
    expect(tokenRequests).toMatchObject([{ force_refresh: false }, { force_refresh: true }]);
  });

  it("returns the refusal of a forced refresh inside 30 s as a retryable error", async () => {
    const { appId, clock, apiCalls, io } = await fakeWeChat(() => ({
      errcode: 40001,
      errmsg: "invalid credential",
    }));
    await callWeChat(env, appId, "/cgi-bin/user/info", {}, io);
    clock.now += 5_000;
    const answer = await callWeChat(env, appId, "/cgi-bin/user/info", {}, io);
    expect(answer).toMatchObject({
      ok: false,
      error: { code: "refresh-limited", retryable: true, retryAfterMs: 25_000 },
    });
    expect(apiCalls).toHaveLength(3);
  });

  it("returns WeChat's other errors as they are, without a retry", async () => {
    const { appId, apiCalls, io } = await fakeWeChat(() => ({
      errcode: 45009,
      errmsg: "reach max api daily quota limit",
    }));
    const answer = await callWeChat(env, appId, "/cgi-bin/message/custom/send", { body: {} }, io);
    expect(answer).toMatchObject({
      ok: false,
      error: { code: "wechat-error", errcode: 45009, retryable: true },
    });
    expect(apiCalls).toHaveLength(1);
  });

  it("returns an answer that is not JSON as bad-response, without the token in it", async () => {
    const { appId, io } = await fakeWeChat(() => ok);
    const gateway = async () => new Response("<html>Bad gateway</html>", { status: 502 });
    await callWeChat(env, appId, "/cgi-bin/user/info", {}, io);
    const answer = await callWeChat(env, appId, "/cgi-bin/user/info", {}, { fetch: gateway });
    expect(answer).toMatchObject({ ok: false, error: { code: "bad-response", retryable: true } });
    expect(JSON.stringify(answer)).not.toContain("token-1");
  });

  it("returns the token authority's error without calling the API", async () => {
    const { io, apiCalls } = await fakeWeChat(() => ok);
    const answer = await callWeChat(env, "wx_not_set_up", "/cgi-bin/user/info", {}, io);
    expect(answer).toMatchObject({ ok: false, error: { code: "app-not-found" } });
    expect(apiCalls).toHaveLength(0);
  });
});
