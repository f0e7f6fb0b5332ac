/**
 * What a delivery triggers (its inbox row, the follower it changes) is committed with its dedup
 * record and reaches D1 without waiting for another delivery; the passive reply never waits on D1.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import { createTenant, eventually, postJson } from "../support/tenants";
import {
  deliver,
  eventMessage,
  failD1On,
  holdD1Batches,
  replyFields,
  textMessage,
  wechatApp,
} from "../support/wechat";

async function inboxEvents(appId: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT COALESCE(event, msg_type) AS what FROM wechat_inbox WHERE app_id = ? ORDER BY id",
  )
    .bind(appId)
    .all<{ what: string }>();
  return results.map((r) => r.what);
}

async function followerOf(appId: string, openid: string) {
  return env.DB.prepare(
    "SELECT following, service_window_kind FROM wechat_followers WHERE app_id = ? AND openid = ?",
  )
    .bind(appId, openid)
    .first<{ following: number; service_window_kind: string | null }>();
}

describe("a delivery D1 could not take at once", () => {
  it("reaches D1 from the account's alarm, with no later delivery: a quiet account's follow and its window", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const now = Math.floor(Date.now() / 1000);
    const restore = failD1On(["wechat_inbox", "wechat_followers"]);
    let res: Response;
    try {
      res = await deliver(appId, eventMessage("subscribe", "", "oQuiet", now), { mode: "safe" });
    } finally {
      restore();
    }
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("success");
    // Nothing else comes from this account (and WeChat's retries are deduplicated): only the
    // account's own alarm can copy the follow.
    await runDurableObjectAlarm(wechatAccountOf(env, appId));
    await eventually(
      async () => ((await inboxEvents(appId)).length > 0 ? true : undefined),
      5_000,
      "the inbox row",
    );
    expect(await inboxEvents(appId)).toEqual(["subscribe"]);
    expect(await followerOf(appId, "oQuiet")).toEqual({
      following: 1,
      service_window_kind: "subscribe",
    });
  });

  it("copies held deliveries in the order they came, so a follow then an unfollow leaves no follower", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const restore = failD1On(["wechat_inbox", "wechat_followers"]);
    try {
      await deliver(appId, eventMessage("subscribe", "", "oBrief", 1700000500), {
        mode: "plaintext",
      });
      await deliver(appId, eventMessage("unsubscribe", "", "oBrief", 1700000501), {
        mode: "plaintext",
      });
    } finally {
      restore();
    }
    await runDurableObjectAlarm(wechatAccountOf(env, appId));
    await eventually(
      async () => ((await inboxEvents(appId)).length === 2 ? true : undefined),
      5_000,
      "both inbox rows",
    );
    expect(await followerOf(appId, "oBrief")).toMatchObject({ following: 0 });
  });

  it("answers a keyword within WeChat's 5 seconds while D1 is slow to take the inbox row", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "compatible");
    await tenant.api(
      `/v1/wechat/apps/${appId}/auto-replies`,
      postJson({ match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } }),
    );
    const release = holdD1Batches();
    // Should the reply wait for D1 anyway, D1 answers after 7 s, too late for WeChat.
    const fallback = setTimeout(release, 7_000);
    const started = Date.now();
    let res: Response;
    try {
      res = await deliver(appId, textMessage("hours", "6054768590064720001"), {
        mode: "compatible",
      });
    } finally {
      clearTimeout(fallback);
      release();
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await replyFields(res, appId)).Content).toBe("9 to 5");
    await eventually(
      async () => ((await inboxEvents(appId)).length > 0 ? true : undefined),
      5_000,
      "the inbox row",
    );
  }, 15_000);
});
