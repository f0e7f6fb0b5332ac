import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wechatSignature } from "../../src/channels/wechat/signature";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import {
  deliver,
  eventMessage,
  type Mode,
  replyFields,
  TOKEN,
  textMessage,
  wechatApp,
} from "../support/wechat";

async function withRules(tenant: TestTenant, appId: string) {
  const path = `/v1/wechat/apps/${appId}/auto-replies`;
  await tenant.api(
    path,
    postJson({ match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } }),
  );
  await tenant.api(
    path,
    postJson({ match: "subscribe", reply: { type: "text", content: "Welcome!" } }),
  );
}

async function inbox(tenant: TestTenant, appId: string) {
  const res = await tenant.api(`/v1/wechat/apps/${appId}/inbox`);
  return (
    (await res.json()) as {
      data: { msg_type: string; event: string | null; fields: Record<string, string> }[];
    }
  ).data;
}

describe("the WeChat webhook", () => {
  it("answers WeChat's URL check with echostr, and refuses a forged one", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = "1372623149";
    const signature = await wechatSignature(TOKEN, timestamp, nonce);
    const ok = await call(
      `/wechat/${appId}?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}&echostr=hello123`,
      null,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("hello123");
    const forged = await call(
      `/wechat/${appId}?signature=${"0".repeat(40)}&timestamp=${timestamp}&nonce=${nonce}&echostr=x`,
      null,
    );
    expect(forged.status).toBe(403);
  });

  for (const mode of ["plaintext", "compatible", "safe"] as Mode[]) {
    it(`replies to a keyword in ${mode} mode, and stores the message once`, async () => {
      const tenant = await createTenant();
      const appId = await wechatApp(tenant, mode);
      await withRules(tenant, appId);
      const started = Date.now();
      const res = await deliver(appId, textMessage(" HOURS ", "6054768590064713728"), { mode });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.status).toBe(200);
      const reply = await replyFields(res, appId);
      expect(reply).toMatchObject({
        ToUserName: "oUser1",
        FromUserName: "gh_account",
        MsgType: "text",
        Content: "9 to 5",
      });
      const items = await inbox(tenant, appId);
      expect(items).toHaveLength(1);
      expect(items[0]?.fields.Content).toBe(" HOURS ");
    });
  }

  it("answers with a rule only inside its active window, in the tenant's zone", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const appId = await wechatApp(tenant, "plaintext");
    const path = `/v1/wechat/apps/${appId}/auto-replies`;
    const weekday = new Intl.DateTimeFormat("en-US", {
      timeZone: "Asia/Shanghai",
      weekday: "short",
    }).format(Date.now());
    const today = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(weekday) + 1;
    const otherDays = [1, 2, 3, 4, 5, 6, 7].filter((day) => day !== today);
    const closed = await tenant.api(
      path,
      postJson({
        match: "exact",
        keyword: "hours",
        reply: { type: "text", content: "closed today" },
        priority: 1,
        active_window: { days: otherDays, start: "00:00", end: "00:00" },
      }),
    );
    expect(closed.status).toBe(201);
    expect(await closed.json()).toMatchObject({ active_window: { days: otherDays } });
    await tenant.api(
      path,
      postJson({
        match: "exact",
        keyword: "hours",
        reply: { type: "text", content: "open today" },
        priority: 2,
        active_window: { days: [today], start: "00:00", end: "00:00" },
      }),
    );
    const res = await deliver(appId, textMessage("hours", "6054768590064713999"), {
      mode: "plaintext",
    });
    expect(await replyFields(res, appId)).toMatchObject({ Content: "open today" });
  });

  it("delivers once across WeChat's retries arriving at the same time, each answered alike", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await withRules(tenant, appId);
    const xml = textMessage("hours", "6054768590064713999");
    const answers = await Promise.all(
      [1, 2, 3, 4].map(() => deliver(appId, xml, { mode: "safe" })),
    );
    const contents = await Promise.all(
      answers.map(async (res) => (await replyFields(res, appId)).Content),
    );
    expect(contents).toEqual(["9 to 5", "9 to 5", "9 to 5", "9 to 5"]);
    expect(await inbox(tenant, appId)).toHaveLength(1);
  });

  it("stores every event, welcomes a follow from a QR scene, and answers other events with success", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "compatible");
    await withRules(tenant, appId);
    const follow = await deliver(appId, eventMessage("subscribe", "qrscene_campaign42"), {
      mode: "compatible",
    });
    expect((await replyFields(follow, appId)).Content).toBe("Welcome!");
    for (const [event, key, time] of [
      ["unsubscribe", "", 1700000002],
      ["CLICK", "MENU_HELP", 1700000003],
      ["VIEW", "https://example.com/shop", 1700000004],
      ["SCAN", "campaign42", 1700000005],
    ] as const) {
      const res = await deliver(appId, eventMessage(event, key, "oUser1", time), {
        mode: "compatible",
      });
      expect(await res.text()).toBe("success");
    }
    // The same event again (same user, time, event and key) is WeChat's retry: stored once.
    await deliver(appId, eventMessage("CLICK", "MENU_HELP", "oUser1", 1700000003), {
      mode: "compatible",
    });
    const events = (await inbox(tenant, appId)).map((i) => i.event).sort();
    expect(events).toEqual(["CLICK", "SCAN", "VIEW", "subscribe", "unsubscribe"]);
  });

  it("refuses forged, stale, foreign-app, unencrypted-in-safe-mode and unknown-app deliveries, storing nothing", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const xml = textMessage("hi", "6054768590064714000");
    const forged = await deliver(appId, xml, { mode: "safe", token: "wrongToken" });
    await expectProblem(forged, { status: 403, slug: "forbidden", instance: `/wechat/${appId}` });
    const stale = await deliver(appId, xml, {
      mode: "safe",
      timestampSeconds: Math.floor(Date.now() / 1000) - 301,
    });
    expect(stale.status).toBe(403);
    const foreign = await deliver(appId, xml, {
      mode: "safe",
      encryptForAppId: "wx0000000000000000",
    });
    expect(foreign.status).toBe(403);
    const plain = await deliver(appId, xml, { mode: "plaintext" });
    expect(plain.status).toBe(403);
    const unknown = await deliver("wx1111111111111111", xml, { mode: "plaintext" });
    expect(unknown.status).toBe(404);
    expect(await inbox(tenant, appId)).toHaveLength(0);
  });

  it("refuses an XML bomb and an oversized body", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><xml><Content>&lol2;</Content></xml>`;
    expect((await deliver(appId, bomb, { mode: "plaintext" })).status).toBe(400);
    const huge = textMessage("x".repeat(70 * 1024), "6054768590064714001");
    expect((await deliver(appId, huge, { mode: "plaintext" })).status).toBe(413);
    expect(await inbox(tenant, appId)).toHaveLength(0);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM wechat_inbox WHERE app_id = ?")
      .bind(appId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});

describe("news replies", () => {
  it("sends one article in reply to a user's message, as WeChat allows", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const article = (n: number) => ({ title: `Offer ${n}`, url: `https://example.com/${n}` });
    await tenant.api(
      `/v1/wechat/apps/${appId}/auto-replies`,
      postJson({
        match: "contains",
        keyword: "deal",
        reply: { type: "news", articles: [article(1), article(2), article(3)] },
      }),
    );
    const res = await deliver(appId, textMessage("any deals?", "6054768590064714100"), {
      mode: "plaintext",
    });
    const reply = await replyFields(res, appId);
    expect(reply).toMatchObject({ MsgType: "news", ArticleCount: "1" });
  });
});

describe("followers", () => {
  it("keeps who follows and when each last interacted, from the deliveries", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    await deliver(appId, eventMessage("subscribe", "", "oFan", 1700000100), { mode: "plaintext" });
    await deliver(appId, textMessage("hello", "6054768590064714200", "oFan"), {
      mode: "plaintext",
    });
    const row = async () =>
      env.DB.prepare(
        "SELECT following, last_interaction_at, subscribed_at, unsubscribed_at FROM wechat_followers WHERE app_id = ? AND openid = ?",
      )
        .bind(appId, "oFan")
        .first<{
          following: number;
          last_interaction_at: number;
          subscribed_at: number;
          unsubscribed_at: number | null;
        }>();
    // The text's CreateTime (1700000000) is older than the follow's: the later one is kept.
    expect(await row()).toEqual({
      following: 1,
      last_interaction_at: 1700000100_000,
      subscribed_at: 1700000100_000,
      unsubscribed_at: null,
    });
    await deliver(appId, eventMessage("unsubscribe", "", "oFan", 1700000200), {
      mode: "plaintext",
    });
    expect(await row()).toMatchObject({ following: 0, unsubscribed_at: 1700000200_000 });
  });
});
