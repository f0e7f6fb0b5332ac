import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { settingsOf } from "../../src/config/settings";
import { database } from "../../src/db/client";
import { wechatApps } from "../../src/db/schema";
import type { InboxRowValues } from "../../src/delivery/wechat-account";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import {
  SIGNATURE_USE_KEPT_SECONDS,
  type SignatureUse,
} from "../../src/durable-objects/wechat-account/signature-uses";
import type { WeChatAccount } from "../../src/durable-objects/wechat-account/wechat-account";
import { newId } from "../../src/lib/ids";
import { encryptSecret } from "../../src/lib/secrets";
import { createTenant, eventually } from "../support/tenants";

const HOUR = 3_600_000;
let apps = 0;

interface SeenRequest {
  method: string;
  url: string;
  contentType: string | null;
  body: string;
}

type TokenAnswer = Record<string, string | number>;

/**
 * A WeChat app in D1 whose WeChatAccount reaches a fake token endpoint and a clock the test
 * moves. The fake issues `token-1`, `token-2`, ... (7,200 s each) after a short wait, so that
 * concurrent callers overlap, unless `answer` says otherwise.
 */
async function fakeApp(
  options: { tokenEndpoint?: "stable_token" | "token"; apiBaseUrl?: string | null } = {},
) {
  const tenant = await createTenant();
  apps += 1;
  const appId = `wx${String(apps).padStart(16, "0")}`;
  const appSecret = `secret-${apps}`;
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
        JSON.stringify({ app_secret: appSecret, token: "tok", encoding_aes_key: "k".repeat(43) }),
      ),
      apiBaseUrl: options.apiBaseUrl === undefined ? "https://wx.fake" : options.apiBaseUrl,
      tokenEndpoint: options.tokenEndpoint ?? "stable_token",
      createdAt: now,
      updatedAt: now,
    });
  const clock = { now };
  const requests: SeenRequest[] = [];
  const fake = {
    answer: undefined as TokenAnswer | undefined,
    issued: 0,
  };
  const stub = wechatAccountOf(env, appId);
  await runInDurableObject(stub, (instance: WeChatAccount) => {
    Object.defineProperty(instance, "io", {
      value: {
        now: () => clock.now,
        fetch: async (request: Request) => {
          requests.push({
            method: request.method,
            url: request.url,
            contentType: request.headers.get("content-type"),
            body: await request.text(),
          });
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (fake.answer) {
            return Response.json(fake.answer);
          }
          fake.issued += 1;
          return Response.json({ access_token: `token-${fake.issued}`, expires_in: 7200 });
        },
      },
    });
  });
  const alarmAt = () =>
    runInDurableObject(stub, (_instance: WeChatAccount, state) => state.storage.getAlarm());
  return { tenant, appId, appSecret, stub, clock, requests, fake, alarmAt };
}

/** A follower's text message as the webhook hands it to the account. */
function textRow(tenantId: string, appId: string, msgId: string, now: number): InboxRowValues {
  const fields = {
    ToUserName: "gh_account",
    FromUserName: "oAlarm",
    CreateTime: String(Math.floor(now / 1000)),
    MsgType: "text",
    Content: "hello",
    MsgId: msgId,
  };
  return {
    id: newId("wxm", now),
    tenantId,
    appId,
    dedupKey: `msg|${msgId}`,
    msgType: "text",
    event: null,
    eventKey: null,
    fromUser: "oAlarm",
    toUser: "gh_account",
    createTime: Math.floor(now / 1000),
    fields,
    reply: null,
    receivedAt: now,
  };
}

/** The signature a delivery came with: its URL's timestamp and nonce, and its message's hash. */
function signedAt(now: number, nonce: string, messageSha256 = "a".repeat(64)): SignatureUse {
  return { timestamp: Math.floor(now / 1000), nonce, messageSha256 };
}

function bodyOf(request: SeenRequest | undefined): unknown {
  return request ? JSON.parse(request.body) : undefined;
}

describe("WeChatAccount", () => {
  it("answers twenty concurrent callers with no token yet with exactly one token fetch", async () => {
    const { appId, stub, requests } = await fakeApp();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => stub.accessToken({ appId })),
    );
    expect(requests).toHaveLength(1);
    for (const answer of answers) {
      expect(answer).toMatchObject({ ok: true, value: { token: "token-1" } });
    }
  });

  it("answers twenty concurrent callers with an expired token with exactly one token fetch", async () => {
    const { appId, stub, clock, requests } = await fakeApp();
    await stub.accessToken({ appId });
    clock.now += 2 * HOUR;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => stub.accessToken({ appId })),
    );
    expect(requests).toHaveLength(2);
    expect(answers.every((a) => a.ok && a.value.token === "token-2")).toBe(true);
  });

  it("serves a token with more than five minutes left from storage, without a fetch", async () => {
    const { appId, stub, clock, requests } = await fakeApp();
    const first = await stub.accessToken({ appId });
    clock.now += 2 * HOUR - 5 * 60_000 - 1_000;
    const again = await stub.accessToken({ appId });
    expect(requests).toHaveLength(1);
    expect(again).toEqual(first);
    expect(again).toMatchObject({ ok: true, value: { token: "token-1" } });
  });

  it("refreshes a token in its last five minutes", async () => {
    const { appId, stub, clock, requests } = await fakeApp();
    await stub.accessToken({ appId });
    clock.now += 2 * HOUR - 5 * 60_000 + 1_000;
    const again = await stub.accessToken({ appId });
    expect(requests).toHaveLength(2);
    expect(again).toMatchObject({ ok: true, value: { token: "token-2" } });
  });

  it("asks stable_token by POST with a JSON body, force_refresh false normally", async () => {
    const { appId, appSecret, stub, requests } = await fakeApp();
    const answer = await stub.accessToken({ appId });
    expect(requests).toEqual([
      {
        method: "POST",
        url: "https://wx.fake/cgi-bin/stable_token",
        contentType: "application/json",
        body: JSON.stringify({
          grant_type: "client_credential",
          appid: appId,
          secret: appSecret,
          force_refresh: false,
        }),
      },
    ]);
    expect(answer).toMatchObject({ ok: true, value: { token: "token-1" } });
  });

  it("asks the classic token endpoint by GET when the app is set to it", async () => {
    const { appId, appSecret, stub, requests } = await fakeApp({ tokenEndpoint: "token" });
    await stub.accessToken({ appId });
    expect(requests).toEqual([
      {
        method: "GET",
        url: `https://wx.fake/cgi-bin/token?grant_type=client_credential&appid=${appId}&secret=${appSecret}`,
        contentType: null,
        body: "",
      },
    ]);
  });

  it("calls WeChat's own API when the app names no base URL", async () => {
    const { appId, stub, requests } = await fakeApp({ apiBaseUrl: null });
    const answer = await stub.accessToken({ appId });
    expect(requests[0]?.url).toBe("https://api.weixin.qq.com/cgi-bin/stable_token");
    expect(answer).toMatchObject({ ok: true, value: { apiBaseUrl: "https://api.weixin.qq.com" } });
  });

  it("refreshes ahead of expiry by alarm, and a second run of the alarm fetches nothing", async () => {
    const { appId, stub, clock, requests, alarmAt } = await fakeApp();
    const first = await stub.accessToken({ appId });
    const expiresAt = first.ok ? first.value.expiresAt : 0;
    expect(expiresAt).toBe(clock.now + 2 * HOUR);
    expect(await alarmAt()).toBe(expiresAt - 5 * 60_000);

    clock.now = expiresAt - 5 * 60_000;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(requests).toHaveLength(2);
    expect(bodyOf(requests[1])).toMatchObject({ force_refresh: false });
    expect(await alarmAt()).toBe(clock.now + 2 * HOUR - 5 * 60_000);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(requests).toHaveLength(2);
    const served = await stub.accessToken({ appId });
    expect(served).toMatchObject({ ok: true, value: { token: "token-2" } });
    expect(requests).toHaveLength(2);
  });

  it("sets its alarm as a delivery is recorded, and sets the token's refresh again once the copy is done", async () => {
    const { tenant, appId, stub, clock, requests, alarmAt } = await fakeApp();
    const first = await stub.accessToken({ appId });
    const refreshAt = (first.ok ? first.value.expiresAt : 0) - 5 * 60_000;
    expect(await alarmAt()).toBe(refreshAt);

    const recorded = await stub.receive(
      textRow(tenant.id, appId, "7000000000000001", clock.now),
      null,
      signedAt(clock.now, "1001"),
    );
    expect(recorded).toEqual({ duplicate: false, reply: null });
    // In case the copy at the end of the delivery never finishes, the alarm does it.
    expect(await alarmAt()).toBe(clock.now + 10_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await alarmAt()).toBe(refreshAt);
    expect(requests).toHaveLength(1);
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM wechat_inbox WHERE app_id = ?")
      .bind(appId)
      .first<{ n: number }>();
    expect(stored?.n).toBe(1);
  });

  it("takes a signature once per message, until its timestamp can no longer be fresh", async () => {
    const { tenant, appId, stub, clock } = await fakeApp();
    const pushedAt = clock.now;
    const signature = signedAt(pushedAt, "2002", "1".repeat(64));
    const first = textRow(tenant.id, appId, "7000000000000002", pushedAt);
    expect(await stub.receive(first, null, signature)).toEqual({ duplicate: false, reply: null });
    // WeChat's retry: the same message with the same signature.
    expect(await stub.receive(first, null, signature)).toEqual({ duplicate: true, reply: null });
    const other = textRow(tenant.id, appId, "7000000000000003", pushedAt);
    const reused = { ...signature, messageSha256: "2".repeat(64) };
    expect(await stub.receive(other, null, reused)).toEqual({ refused: "signature-reused" });
    clock.now = pushedAt + (SIGNATURE_USE_KEPT_SECONDS - 1) * 1000;
    expect(await stub.receive(other, null, reused)).toEqual({ refused: "signature-reused" });
    // By now the Worker refuses the timestamp itself; the object has let the use go.
    clock.now = pushedAt + (SIGNATURE_USE_KEPT_SECONDS + 1) * 1000;
    expect(await stub.receive(other, null, reused)).toEqual({ duplicate: false, reply: null });
    const uses = await runInDurableObject(stub, (_instance: WeChatAccount, state) =>
      state.storage.sql.exec("SELECT nonce FROM signature_uses").toArray(),
    );
    expect(uses).toEqual([{ nonce: "2002" }]);
  });

  it("forgets the token and the deliveries of a tenant that deletes the app", async () => {
    const { tenant, appId, stub, clock, requests } = await fakeApp();
    await stub.accessToken({ appId });
    const row = textRow(tenant.id, appId, "7000000000000004", clock.now);
    const reply = JSON.stringify({ type: "text", content: "hi" });
    await stub.receive(row, reply, signedAt(clock.now, "3003"));
    await stub.release(appId, tenant.id);
    // The same delivery is new again (no reply of the old owner's), and a call fetches a token.
    expect(await stub.receive(row, null, signedAt(clock.now, "3003"))).toEqual({
      duplicate: false,
      reply: null,
    });
    expect(await stub.accessToken({ appId })).toMatchObject({
      ok: true,
      value: { token: "token-2" },
    });
    expect(requests).toHaveLength(2);
  });

  it("keeps no token from a refresh under way as the app changes owner", async () => {
    const { tenant, appId, stub } = await fakeApp();
    let answer = (_token: string) => {};
    const held = new Promise<string>((resolve) => {
      answer = resolve;
    });
    let issued = 0;
    await runInDurableObject(stub, (instance: WeChatAccount) => {
      Object.defineProperty(instance, "io", {
        value: {
          now: () => Date.now(),
          fetch: async () => {
            issued += 1;
            const token = issued === 1 ? await held : `token-after-${issued}`;
            return Response.json({ access_token: token, expires_in: 7200 });
          },
        },
      });
    });
    const underway = stub.accessToken({ appId });
    await eventually(async () => (issued === 1 ? true : undefined), 5_000, "the token request");
    await stub.adopt(appId, tenant.id);
    answer("token-of-the-last-owner");
    expect(await underway).toMatchObject({ ok: true, value: { token: "token-of-the-last-owner" } });
    expect(await stub.accessToken({ appId })).toMatchObject({
      ok: true,
      value: { token: "token-after-2" },
    });
  });

  it("hands out another token for a rejected one without a fetch when one was already fetched", async () => {
    const { appId, stub, clock, requests } = await fakeApp();
    await stub.accessToken({ appId });
    clock.now += 60_000;
    const forced = await stub.accessToken({ appId, force: true, rejectedToken: "token-1" });
    expect(forced).toMatchObject({ ok: true, value: { token: "token-2" } });
    clock.now += 60_000;
    const late = await stub.accessToken({ appId, force: true, rejectedToken: "token-1" });
    expect(late).toMatchObject({ ok: true, value: { token: "token-2" } });
    expect(requests).toHaveLength(2);
    expect(bodyOf(requests[1])).toMatchObject({ force_refresh: true });
  });

  it("forces refreshes at least 30 s apart and says how long to wait", async () => {
    const { appId, stub, clock, requests } = await fakeApp();
    await stub.accessToken({ appId, force: true });
    clock.now += 10_000;
    const early = await stub.accessToken({ appId, force: true, rejectedToken: "token-1" });
    expect(early).toEqual({
      ok: false,
      error: {
        code: "refresh-limited",
        retryable: true,
        retryAfterMs: 20_000,
        message: "WeChat allows 20 forced token refreshes a day, 30 s apart",
      },
    });
    expect(requests).toHaveLength(1);
    clock.now += 20_000;
    const allowed = await stub.accessToken({ appId, force: true, rejectedToken: "token-1" });
    expect(allowed).toMatchObject({ ok: true, value: { token: "token-2" } });
    expect(requests.map((r) => bodyOf(r))).toMatchObject([
      { force_refresh: true },
      { force_refresh: true },
    ]);
  });

  it("forces at most 20 refreshes in 24 hours, and allows the next when the first is a day old", async () => {
    const { appId, stub, clock, requests } = await fakeApp();
    const start = clock.now;
    for (let n = 1; n <= 20; n++) {
      const answer = await stub.accessToken({ appId, force: true });
      expect(answer).toMatchObject({ ok: true, value: { token: `token-${n}` } });
      clock.now += 60_000;
    }
    const refused = await stub.accessToken({ appId, force: true });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: "refresh-limited", retryAfterMs: start + 24 * HOUR - clock.now },
    });
    expect(requests).toHaveLength(20);
    const kept = await runInDurableObject(stub, (_instance: WeChatAccount, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM forced_refreshes").one(),
    );
    expect(kept.n).toBe(20);

    clock.now = start + 24 * HOUR;
    const next = await stub.accessToken({ appId, force: true });
    expect(next).toMatchObject({ ok: true, value: { token: "token-21" } });
  });

  it("returns WeChat's error with its errcode and errmsg", async () => {
    const { appId, stub, fake } = await fakeApp();
    fake.answer = { errcode: 40125, errmsg: "invalid appsecret" };
    const answer = await stub.accessToken({ appId });
    expect(answer).toEqual({
      ok: false,
      error: {
        code: "wechat-error",
        retryable: false,
        message: "WeChat error 40125",
        errcode: 40125,
        errmsg: "invalid appsecret",
      },
    });
  });

  it("marks WeChat's quota error retryable", async () => {
    const { appId, stub, fake } = await fakeApp();
    fake.answer = { errcode: 45009, errmsg: "reach max api daily quota limit" };
    const answer = await stub.accessToken({ appId });
    expect(answer).toMatchObject({ ok: false, error: { errcode: 45009, retryable: true } });
  });

  it("keeps serving a still valid token when a refresh ahead of expiry fails", async () => {
    const { appId, stub, clock, fake, requests } = await fakeApp();
    await stub.accessToken({ appId });
    fake.answer = { errcode: -1, errmsg: "system error" };
    clock.now += 2 * HOUR - 60_000;
    const answer = await stub.accessToken({ appId });
    expect(answer).toMatchObject({ ok: true, value: { token: "token-1" } });
    // Not asked again on every call: the next try is 30 s later.
    await stub.accessToken({ appId });
    expect(requests).toHaveLength(2);
  });

  it("serves only the app it is named for", async () => {
    const { appId, stub } = await fakeApp();
    await stub.accessToken({ appId });
    expect(await stub.accessToken({ appId: "wx_another_app" })).toEqual({
      ok: false,
      error: {
        code: "app-not-found",
        retryable: false,
        message: `This WeChatAccount serves ${appId}, not wx_another_app`,
      },
    });
  });

  it("answers app-not-found for an app id with no settings", async () => {
    const appId = "wx_unknown_app";
    const answer = await wechatAccountOf(env, appId).accessToken({ appId });
    expect(answer).toMatchObject({ ok: false, error: { code: "app-not-found", retryable: false } });
  });
});
