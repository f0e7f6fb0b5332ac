/**
 * A template message's job-finish event (TEMPLATESENDJOBFINISH) that reaches us before the
 * consumer has recorded the send, and one that meets a D1 error: neither may be lost, since
 * WeChat's retries of it are deduplicated.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage } from "../support/messages";
import { createTenant, eventually, messageReaches, type TestTenant } from "../support/tenants";
import { deliver, failD1On, templateJobFinish } from "../support/wechat";
import {
  appWithFakeApi,
  consumeBatch,
  fakeWeChat,
  SMS_FALLBACK,
  viewOf,
} from "../support/wechat-outbound";

/** A template message to `openid`, in the send log and not sent yet. */
async function templateMessage(
  tenant: TestTenant,
  appId: string,
  openid: string,
  extra: Record<string, unknown> = {},
) {
  const message = outboxMessage(tenant.id, openid, {
    channel: "wechat",
    sender: appId,
    mode: "live",
    segments: 0,
    payload: JSON.stringify({
      msgtype: "template",
      touser: openid,
      template_id: "tmpl1",
      data: {},
      ...extra,
    }),
  });
  await logMessages(env.DB, [message]);
  return message;
}

describe("a job-finish event that beats the record of its send", () => {
  it("is held, then applied when the consumer records the send: delivered, or undelivered with WeChat's reason", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat((_path, body) => ({
      errcode: 0,
      errmsg: "ok",
      msgid: body.touser === "oEarly1" ? 400000001 : 400000002,
    }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const delivered = await templateMessage(tenant, appId, "oEarly1");
    const blocked = await templateMessage(tenant, appId, "oEarly2");
    for (const xml of [
      templateJobFinish(400000001, "success", "oEarly1"),
      templateJobFinish(400000002, "failed:user block", "oEarly2"),
    ]) {
      const res = await deliver(appId, xml, { mode: "plaintext" });
      expect(await res.text()).toBe("success");
    }
    await consumeBatch(tenant, [delivered.id, blocked.id], wechat.fetch);
    expect(await viewOf(tenant, delivered.id)).toMatchObject({
      status: "delivered",
      status_reason: null,
    });
    expect(await viewOf(tenant, blocked.id)).toMatchObject({
      status: "undelivered",
      status_reason: "WeChat: failed:user block",
    });
    const held = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM pending_receipts WHERE provider = 'wechat' AND provider_message_id IN ('400000001', '400000002')",
    ).first<{ n: number }>();
    expect(held?.n).toBe(0);
  });

  it("starts the SMS fallback of a channel auto message it reports undelivered", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 400000003 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = await templateMessage(tenant, appId, "oEarly3", { fallback: SMS_FALLBACK });
    await deliver(appId, templateJobFinish(400000003, "failed:user block", "oEarly3"), {
      mode: "plaintext",
    });
    await consumeBatch(tenant, [message.id], wechat.fetch);
    // The fallback goes through the real queue and the sandbox, which delivers it.
    const done = await messageReaches(tenant, message.id, "delivered");
    expect(done).toMatchObject({ channel: "sms", to: SMS_FALLBACK.recipient, provider: "sandbox" });
    expect(done.attempts).toEqual([
      expect.objectContaining({
        provider: "wechat",
        outcome: "sent",
        reason: "undelivered: WeChat: failed:user block",
      }),
      expect.objectContaining({ provider: "sandbox", outcome: "sent" }),
    ]);
  });
});

describe("a job-finish event that meets a D1 error", () => {
  it("is applied once D1 answers again, although WeChat's retry of it is deduplicated", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 400000004 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = await templateMessage(tenant, appId, "oOutage");
    await consumeBatch(tenant, [message.id], wechat.fetch);
    expect(await viewOf(tenant, message.id)).toMatchObject({ status: "sent" });

    const xml = templateJobFinish(400000004, "success", "oOutage");
    const restore = failD1On(["messages", "wechat_inbox", "pending_receipts"]);
    try {
      await deliver(appId, xml, { mode: "plaintext" });
    } finally {
      restore();
    }
    // WeChat's retry, whatever the first delivery was answered: the dedup record already holds it.
    expect(await (await deliver(appId, xml, { mode: "plaintext" })).text()).toBe("success");
    await runDurableObjectAlarm(wechatAccountOf(env, appId));
    await eventually(
      async () => ((await viewOf(tenant, message.id)).status === "delivered" ? true : undefined),
      5_000,
      "the job-finish result",
    );
  });
});
