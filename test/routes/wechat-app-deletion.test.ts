/**
 * A WeChat app id passes from tenant to tenant: an account changes hands, or is set up again by
 * someone else. Deleting an app takes its rules, followers (with their tags), inbox and contact
 * bindings with it, and its access token out of the account's object, so the next tenant to
 * register the app id starts from nothing.
 */

import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import { createTenant, postJson, type TestTenant } from "../support/tenants";
import {
  AES_KEY,
  deliver,
  eventMessage,
  failD1On,
  newAppId,
  replyFields,
  TOKEN,
  textMessage,
} from "../support/wechat";
import { syncFollowersJob } from "../support/wechat-sync";

const WECHAT = "https://api.weixin.qq.com";
const FIRST_SECRET = "11111111111111111111111111111111";
const NEXT_SECRET = "22222222222222222222222222222222";

/** The AppSecret each token request carried, and the token each API call used. */
let tokenSecrets: string[];
let apiTokens: { path: string; token: string | null }[];
beforeEach(() => {
  tokenSecrets = [];
  apiTokens = [];
  // WeChat: a token per AppSecret, two followers (tagged 7), and `ok` to everything else.
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== WECHAT) {
      throw new Error(`unexpected fetch ${url.origin}`);
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      const { secret } = (await request.json()) as { secret: string };
      tokenSecrets.push(secret);
      return Response.json({ access_token: `token-of-${secret.slice(0, 4)}`, expires_in: 7200 });
    }
    apiTokens.push({ path: url.pathname, token: url.searchParams.get("access_token") });
    if (url.pathname === "/cgi-bin/user/get") {
      return Response.json({
        total: 2,
        count: 2,
        data: { openid: ["oFan1", "oFan2"] },
        next_openid: "oFan2",
      });
    }
    if (url.pathname === "/cgi-bin/user/info/batchget") {
      const { user_list } = (await request.json()) as { user_list: { openid: string }[] };
      return Response.json({
        user_info_list: user_list.map(({ openid }) => ({
          subscribe: 1,
          openid,
          subscribe_time: 1700000000,
          tagid_list: [7],
        })),
      });
    }
    if (url.pathname === "/cgi-bin/tags/get") {
      return Response.json({ tags: [{ id: 7, name: "VIP", count: 2 }] });
    }
    return Response.json({ errcode: 0, errmsg: "ok" });
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function register(tenant: TestTenant, appId: string, appSecret: string): Promise<void> {
  const res = await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: appSecret,
      token: TOKEN,
      encoding_aes_key: AES_KEY,
      mode: "plaintext",
    }),
  );
  expect(res.status).toBe(201);
}

/** Rows of `appId` in each WeChat table, whoever's they are. */
async function rowsOf(appId: string): Promise<Record<string, number>> {
  const count = async (sql: string) =>
    (await env.DB.prepare(sql).bind(appId).first<{ n: number }>())?.n ?? -1;
  return {
    rules: await count(
      "SELECT COUNT(*) AS n FROM auto_reply_rules WHERE channel = 'wechat' AND scope = ?",
    ),
    followers: await count("SELECT COUNT(*) AS n FROM wechat_followers WHERE app_id = ?"),
    inbox: await count("SELECT COUNT(*) AS n FROM wechat_inbox WHERE app_id = ?"),
    bindings: await count("SELECT COUNT(*) AS n FROM contact_wechat_bindings WHERE app_id = ?"),
  };
}

async function listed(tenant: TestTenant, path: string): Promise<unknown[]> {
  const res = await tenant.api(path);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: unknown[] }).data;
}

describe("deleting a WeChat app", () => {
  it("leaves nothing of it for the next tenant that registers the app id: no rules, followers, tags, inbox, bindings or token", async () => {
    const first = await createTenant();
    const next = await createTenant();
    const appId = newAppId();
    const app = `/v1/wechat/apps/${appId}`;
    await register(first, appId, FIRST_SECRET);
    for (const rule of [
      { match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } },
      { match: "subscribe", reply: { type: "text", content: "Welcome!" } },
      { match: "default", reply: { type: "text", content: "We'll be in touch" }, priority: 500 },
    ]) {
      expect((await first.api(`${app}/auto-replies`, postJson(rule))).status).toBe(201);
    }
    const follow = await deliver(appId, eventMessage("subscribe", "", "oFan1", 1700000100), {
      mode: "plaintext",
    });
    expect((await replyFields(follow, appId)).Content).toBe("Welcome!");
    const asked = await deliver(appId, textMessage("hours", "6054768590064790001", "oFan1"), {
      mode: "plaintext",
    });
    expect((await replyFields(asked, appId)).Content).toBe("9 to 5");
    expect((await syncFollowersJob(first.api, appId)).status).toBe("done");
    const tagged = await first.api(`${app}/tags/8/members`, postJson({ openids: ["oFan1"] }));
    expect(tagged.status).toBe(200);
    const contact = await first.api(
      "/v1/contacts",
      postJson({ external_id: "fan-1", wechat: [{ app_id: appId, openid: "oFan1" }] }),
    );
    expect(contact.status).toBe(201);
    expect(await rowsOf(appId)).toEqual({ rules: 3, followers: 2, inbox: 2, bindings: 1 });
    expect(tokenSecrets).toEqual([FIRST_SECRET]);

    expect((await first.api(app, { method: "DELETE" })).status).toBe(204);
    expect(await rowsOf(appId)).toEqual({ rules: 0, followers: 0, inbox: 0, bindings: 0 });

    await register(next, appId, NEXT_SECRET);
    expect(await listed(next, `${app}/auto-replies`)).toEqual([]);
    expect(await listed(next, `${app}/followers`)).toEqual([]);
    expect(await listed(next, `${app}/followers?tag_id=7`)).toEqual([]);
    expect(await listed(next, `${app}/inbox`)).toEqual([]);
    // WeChat is asked for a token with the new owner's AppSecret: the old token is gone.
    apiTokens.length = 0;
    expect((await next.api(`${app}/tags`)).status).toBe(200);
    expect(tokenSecrets).toEqual([FIRST_SECRET, NEXT_SECRET]);
    expect(apiTokens).toEqual([{ path: "/cgi-bin/tags/get", token: "token-of-2222" }]);

    // None of the first owner's rules answers: no keyword reply, no welcome, no default.
    for (const xml of [
      textMessage("hours", "6054768590064790002", "oFan1"),
      eventMessage("subscribe", "", "oFan1", 1700000200),
    ]) {
      const res = await deliver(appId, xml, { mode: "plaintext" });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("success");
    }
    expect(await listed(next, `${app}/inbox`)).toHaveLength(2);
    expect(await listed(next, `${app}/followers`)).toMatchObject([
      { openid: "oFan1", following: true, tag_ids: [] },
    ]);
    const bound = await next.api(
      "/v1/contacts",
      postJson({ external_id: "fan-1", wechat: [{ app_id: appId, openid: "oFan1" }] }),
    );
    expect(bound.status).toBe(201);
  });

  it("keeps a delivery recorded before the app was deleted from reaching D1 after it", async () => {
    const tenant = await createTenant();
    const appId = newAppId();
    await register(tenant, appId, FIRST_SECRET);
    // D1 does not take the delivery at once: its work waits in the account's object.
    const restore = failD1On(["wechat_inbox", "wechat_followers"]);
    try {
      const res = await deliver(appId, eventMessage("subscribe", "", "oLate", 1700000300), {
        mode: "plaintext",
      });
      expect(res.status).toBe(200);
      // The app goes (here straight from D1, as a delete in flight elsewhere would leave it)
      // before the object copies the delivery.
      await env.DB.prepare("DELETE FROM wechat_apps WHERE app_id = ?").bind(appId).run();
    } finally {
      restore();
    }
    await runDurableObjectAlarm(wechatAccountOf(env, appId));
    expect(await rowsOf(appId)).toEqual({ rules: 0, followers: 0, inbox: 0, bindings: 0 });
  });
});
