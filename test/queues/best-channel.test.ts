import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DispatchJob } from "../../src/delivery/payloads";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import type { WeChatAccount } from "../../src/durable-objects/wechat-account/wechat-account";
import { consumeDispatch } from "../../src/queues/dispatch";
import { isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage, statusOf } from "../support/messages";
import {
  createTenant,
  eventually,
  messageReaches,
  postJson,
  type TestTenant,
} from "../support/tenants";
import { deliver, eventMessage, newAppId, templateJobFinish } from "../support/wechat";
import {
  appWithFakeApi,
  consumeBatch,
  fakeWeChat,
  SMS_FALLBACK,
  smsFallbackSent,
  viewOf,
} from "../support/wechat-outbound";

async function account(tenant: TestTenant, fetch: (r: Request) => Promise<Response>) {
  const appId = newAppId();
  await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: "0123456789abcdef0123456789abcdef",
      token: "QDG6eK",
      encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
      mode: "plaintext",
      api_base_url: "https://wx.fake",
    }),
  );
  await runInDurableObject(wechatAccountOf(env, appId), (instance: WeChatAccount) => {
    Object.defineProperty(instance, "io", { value: { fetch, now: () => Date.now() } });
  });
  return appId;
}

const WECHAT_PART = {
  type: "template",
  wechat_template_id: "tmpl1",
  data: { first: { value: "Shipped" } },
};

function autoRequest(appId: string, contact: string) {
  return postJson({
    channel: "auto",
    contact,
    app_id: appId,
    wechat: WECHAT_PART,
    sms: { body: "Your order has shipped" },
  });
}

describe("channel auto", () => {
  it("goes by WeChat to a bound follower and by SMS to an unbound contact", async () => {
    const tenant = await createTenant();
    const appId = await account(tenant, async () => Response.json({ errcode: 0 }));
    await tenant.api(
      "/v1/contacts",
      postJson({
        external_id: "u-bound",
        phone: "+8613800138900",
        wechat: [{ app_id: appId, openid: "oBound" }],
      }),
    );
    await tenant.api("/v1/contacts", postJson({ external_id: "u-phone", phone: "+8613800138901" }));
    await deliver(appId, eventMessage("subscribe", "", "oBound", Math.floor(Date.now() / 1000)), {
      mode: "plaintext",
    });
    const bound = await tenant.api("/v1/messages", autoRequest(appId, "u-bound"));
    expect(bound.status).toBe(202);
    expect(await bound.json()).toMatchObject({ to: "oBound" });
    const unbound = await tenant.api("/v1/messages", autoRequest(appId, "u-phone"));
    expect(unbound.status).toBe(202);
    expect(await unbound.json()).toMatchObject({ to: "+8613800138901" });
  });

  it("falls back to SMS under the same id when WeChat refuses the send for good", async () => {
    const tenant = await createTenant();
    const wechat = async (request: Request) =>
      new URL(request.url).pathname.includes("token")
        ? Response.json({ access_token: "T", expires_in: 7200 })
        : Response.json({ errcode: 43004, errmsg: "require subscribe" });
    const appId = await account(tenant, wechat);
    const message = outboxMessage(tenant.id, "oLeft", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({
        msgtype: "template",
        touser: "oLeft",
        template_id: "tmpl1",
        data: {},
        fallback: {
          recipient: "+8613800138902",
          body: "【Relaybox】Your order has shipped",
          segments: 1,
          encoding: "UCS-2",
          costMicros: 6500,
          templateId: null,
          templateVersion: null,
          templateParams: null,
        },
      }),
    });
    await logMessages(env.DB, [message]);
    const consume = async (attempts: number) => {
      const batch = createMessageBatch<DispatchJob>("relaybox-dispatch", [
        {
          id: "q",
          timestamp: new Date(),
          attempts,
          body: { v: 1, tenant_id: tenant.id, message_id: message.id },
        },
      ]);
      const ctx = createExecutionContext();
      await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, {
        fetch: async (request) =>
          new URL(request.url).host === "wx.fake" ? wechat(request) : new Response("{}"),
      });
      return getQueueResult(batch, ctx);
    };
    // WeChat's refusal is recorded and the SMS handed to the tenant's dispatcher, which sends it.
    const first = await consume(1);
    expect(first.explicitAcks).toHaveLength(1);
    const view = await smsFallbackSent(tenant, message.id);
    // The app id was the WeChat sender; the SMS names none, so the carrier uses its own.
    expect(view).toMatchObject({ channel: "sms", to: "+8613800138902", from: null });
    expect(["sent", "delivered"]).toContain(view.status);
    expect(view.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["wechat", "permanent"],
      ["sandbox", "sent"],
    ]);
  });

  it("falls back to SMS when the template message ends undelivered, and the SMS delivers", async () => {
    const tenant = await createTenant();
    const wechat = async (request: Request) =>
      new URL(request.url).pathname.includes("token")
        ? Response.json({ access_token: "T", expires_in: 7200 })
        : Response.json({ errcode: 0, errmsg: "ok", msgid: 300000001 });
    const appId = await account(tenant, wechat);
    const message = outboxMessage(tenant.id, "oBlocker", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({
        msgtype: "template",
        touser: "oBlocker",
        template_id: "tmpl1",
        data: {},
        fallback: {
          recipient: "+8613800138903",
          body: "【Relaybox】Your order has shipped",
          segments: 1,
          encoding: "UCS-2",
          costMicros: 6500,
          templateId: null,
          templateVersion: null,
          templateParams: null,
        },
      }),
    });
    await logMessages(env.DB, [message]);
    const batch = createMessageBatch<DispatchJob>("relaybox-dispatch", [
      {
        id: "q",
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, tenant_id: tenant.id, message_id: message.id },
      },
    ]);
    const ctx = createExecutionContext();
    await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, { fetch: wechat });
    await getQueueResult(batch, ctx);
    const finish = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oBlocker]]></FromUserName><CreateTime>1700000400</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>300000001</MsgID><Status><![CDATA[failed:user block]]></Status></xml>`;
    expect((await deliver(appId, finish, { mode: "plaintext" })).status).toBe(200);
    // The fallback goes through the real queue and the sandbox, which delivers it.
    const done = await messageReaches(tenant, message.id, "delivered");
    expect(done).toMatchObject({
      channel: "sms",
      to: "+8613800138903",
      from: null,
      provider: "sandbox",
    });
    expect(
      (done.attempts as { provider: string; outcome: string }[]).map((a) => [
        a.provider,
        a.outcome,
      ]),
    ).toEqual([
      ["wechat", "sent"],
      ["sandbox", "sent"],
    ]);
  });

  it("keeps WeChat's undelivered reason on the WeChat attempt after the SMS fallback delivers", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 300000002 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = outboxMessage(tenant.id, "oBlocker2", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({
        msgtype: "template",
        touser: "oBlocker2",
        template_id: "tmpl1",
        data: {},
        fallback: SMS_FALLBACK,
      }),
    });
    await logMessages(env.DB, [message]);
    await consumeBatch(tenant, [message.id], wechat.fetch);
    const finish = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oBlocker2]]></FromUserName><CreateTime>1700000401</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>300000002</MsgID><Status><![CDATA[failed:user block]]></Status></xml>`;
    expect((await deliver(appId, finish, { mode: "plaintext" })).status).toBe(200);
    // The SMS's receipt overwrites the message's reason; the WeChat attempt keeps WeChat's.
    const done = await messageReaches(tenant, message.id, "delivered");
    expect(done.status_reason).toBeNull();
    expect(done.attempts).toEqual([
      expect.objectContaining({
        provider: "wechat",
        outcome: "sent",
        reason: "undelivered: WeChat: failed:user block",
      }),
      expect.objectContaining({ provider: "sandbox", outcome: "sent" }),
    ]);
  });

  it("refuses an unknown contact, and one with neither a following binding nor a phone", async () => {
    const tenant = await createTenant();
    const appId = await account(tenant, async () => Response.json({ errcode: 0 }));
    await tenant.api("/v1/contacts", postJson({ external_id: "u-none" }));
    expect((await tenant.api("/v1/messages", autoRequest(appId, "u-missing"))).status).toBe(422);
    expect((await tenant.api("/v1/messages", autoRequest(appId, "u-none"))).status).toBe(422);
  });

  it("sends the fallback SMS through the tenant's dispatcher, after the phone's earlier message", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher();
    const phone = "+8613800138951";
    // An SMS to the same phone, released and still waiting for its send result.
    const earlier = outboxMessage(tenant.id, phone);
    await accept(earlier);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id]);

    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 300000003 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = outboxMessage(tenant.id, "oBlocker3", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({
        msgtype: "template",
        touser: "oBlocker3",
        template_id: "tmpl1",
        data: {},
        fallback: { ...SMS_FALLBACK, recipient: phone },
      }),
    });
    await logMessages(env.DB, [message]);
    await consumeBatch(tenant, [message.id], wechat.fetch);
    expect(await statusOf(message.id)).toBe("sent");
    const finish = templateJobFinish(300000003, "failed:user block", "oBlocker3");
    expect((await deliver(appId, finish, { mode: "plaintext" })).status).toBe(200);
    await eventually(async () =>
      (await viewOf(tenant, message.id)).channel === "sms" ? true : undefined,
    );

    // In line behind the earlier message to the phone: neither released nor sent yet.
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id]);
    expect((await viewOf(tenant, message.id)).attempts.map((a) => a.provider)).toEqual(["wechat"]);
    await stub.reportResults([{ id: earlier.id, outcome: "sent" }]);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id]);
  });
});
