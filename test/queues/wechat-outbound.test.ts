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
import { outboxMessage } from "../support/messages";
import { expectProblem } from "../support/problem";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { deliver, newAppId, textMessage } from "../support/wechat";

const WX_API = "https://wx.fake";

/** A fake WeChat API: the token endpoint, and the message sends answered by `send`. */
function fakeWeChat(
  send: (path: string, body: Record<string, unknown>) => Record<string, unknown>,
) {
  const calls: { path: string; body: Record<string, unknown> }[] = [];
  const fetch = async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname.includes("token")) {
      return Response.json({ access_token: "ACCESS_TOKEN_1", expires_in: 7200 });
    }
    const body = (await request.json()) as Record<string, unknown>;
    calls.push({ path: url.pathname, body });
    return Response.json(send(url.pathname, body));
  };
  return { calls, fetch };
}

async function appWithFakeApi(tenant: TestTenant, fetch: (r: Request) => Promise<Response>) {
  const appId = newAppId();
  const res = await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: "0123456789abcdef0123456789abcdef",
      token: "QDG6eK",
      encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
      mode: "plaintext",
      api_base_url: WX_API,
    }),
  );
  expect(res.status).toBe(201);
  // The account's token authority fetches through the same fake.
  await runInDurableObject(wechatAccountOf(env, appId), (instance: WeChatAccount) => {
    Object.defineProperty(instance, "io", { value: { fetch, now: () => Date.now() } });
  });
  return appId;
}

/** A follower whose customer-service window a `kind` of interaction opened `ago` ms ago. */
async function follower(
  tenant: TestTenant,
  appId: string,
  openid: string,
  ago: number,
  kind = "message",
) {
  const openedAt = Date.now() - ago;
  await env.DB.prepare(
    `INSERT INTO wechat_followers (app_id, openid, tenant_id, following, tag_ids,
       last_interaction_at, service_window_kind, service_window_opened_at, updated_at)
     VALUES (?, ?, ?, 1, '[]', ?, ?, ?, ?)`,
  )
    .bind(appId, openid, tenant.id, openedAt, kind, openedAt, Date.now())
    .run();
}

async function consume(tenant: TestTenant, id: string, fetch: (r: Request) => Promise<Response>) {
  const batch = createMessageBatch<DispatchJob>("relaybox-dispatch", [
    {
      id: "q-1",
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, tenant_id: tenant.id, message_id: id },
    },
  ]);
  const ctx = createExecutionContext();
  await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, { fetch });
  return getQueueResult(batch, ctx);
}

describe("outbound WeChat messages", () => {
  it("sends a template message, and its job-finish event makes it delivered", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 200228332 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const payload = {
      msgtype: "template",
      touser: "oFollower1",
      template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
      data: { first: { value: "Your order shipped" } },
    };
    const message = outboxMessage(tenant.id, "oFollower1", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      segments: 0,
      payload: JSON.stringify(payload),
    });
    await logMessages(env.DB, [message]);
    const result = await consume(tenant, message.id, wechat.fetch);
    expect(result.explicitAcks).toEqual(["q-1"]);
    expect(wechat.calls).toEqual([
      {
        path: "/cgi-bin/message/template/send",
        body: { touser: "oFollower1", template_id: payload.template_id, data: payload.data },
      },
    ]);
    const sent = await (await tenant.api(`/v1/messages/${message.id}`)).json();
    expect(sent).toMatchObject({
      status: "sent",
      channel: "wechat",
      provider: "wechat",
      provider_message_id: "200228332",
    });

    const finish = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oFollower1]]></FromUserName><CreateTime>1700000300</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200228332</MsgID><Status><![CDATA[success]]></Status></xml>`;
    expect((await deliver(appId, finish, { mode: "plaintext" })).status).toBe(200);
    const done = await (await tenant.api(`/v1/messages/${message.id}`)).json();
    expect(done).toMatchObject({ status: "delivered" });
  });

  it("accepts a template message by its WeChat template id, and keeps it apart from ours", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 1 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const part = { type: "template", data: { first: { value: "Shipped" } } };
    const res = await tenant.api(
      "/v1/messages",
      postJson({
        channel: "wechat",
        app_id: appId,
        openid: "oBuyer",
        wechat: { ...part, wechat_template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY" },
      }),
    );
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // The send log has it once the dispatcher has written it: WeChat's own field name inside.
    const row = await eventually(() =>
      env.DB.prepare("SELECT payload FROM messages WHERE id = ?")
        .bind(id)
        .first<{ payload: string }>()
        .then((found) => found ?? undefined),
    );
    expect(JSON.parse(row.payload)).toMatchObject({
      msgtype: "template",
      template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
    });
    await expectProblem(
      await tenant.api(
        "/v1/messages",
        postJson({
          channel: "wechat",
          app_id: appId,
          openid: "oBuyer",
          wechat: { ...part, template_id: "x" },
        }),
      ),
      { status: 400, slug: "validation-error", instance: "/v1/messages" },
    );
  });

  it("marks a template message undelivered when the user blocked it", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 200228333 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = outboxMessage(tenant.id, "oFollower2", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({
        msgtype: "template",
        touser: "oFollower2",
        template_id: "t",
        data: {},
      }),
    });
    await logMessages(env.DB, [message]);
    await consume(tenant, message.id, wechat.fetch);
    const finish = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oFollower2]]></FromUserName><CreateTime>1700000301</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200228333</MsgID><Status><![CDATA[failed:user block]]></Status></xml>`;
    await deliver(appId, finish, { mode: "plaintext" });
    const done = await (await tenant.api(`/v1/messages/${message.id}`)).json();
    expect(done).toMatchObject({
      status: "undelivered",
      status_reason: "WeChat: failed:user block",
    });
  });

  it("ends a send WeChat refuses for good as failed with its reason, and retries a busy WeChat", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat((_path, body) =>
      body.touser === "oGone"
        ? { errcode: 43004, errmsg: "require subscribe" }
        : { errcode: -1, errmsg: "system busy" },
    );
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const gone = outboxMessage(tenant.id, "oGone", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({ msgtype: "text", touser: "oGone", text: { content: "hi" } }),
    });
    const busy = outboxMessage(tenant.id, "oBusy", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({ msgtype: "text", touser: "oBusy", text: { content: "hi" } }),
    });
    await follower(tenant, appId, "oGone", 60_000);
    await follower(tenant, appId, "oBusy", 60_000);
    await logMessages(env.DB, [gone, busy]);
    expect((await consume(tenant, gone.id, wechat.fetch)).explicitAcks).toEqual(["q-1"]);
    expect(await (await tenant.api(`/v1/messages/${gone.id}`)).json()).toMatchObject({
      status: "failed",
      status_reason: expect.stringContaining("43004"),
    });
    expect((await consume(tenant, busy.id, wechat.fetch)).retryMessages).toHaveLength(1);
  });

  it("delivers a customer-service message inside the 48-hour window, and refuses one outside it", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok" }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const send = (openid: string) =>
      tenant.api(
        "/v1/messages",
        postJson({
          channel: "wechat",
          app_id: appId,
          openid,
          wechat: { type: "text", content: "Thanks for writing" },
        }),
      );
    // Never interacted: outside any window.
    await expectProblem(await send("oSilent"), {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      pointers: ["/wechat/type"],
    });
    // Wrote a message just now: the window is open (CreateTime is now).
    const now = Math.floor(Date.now() / 1000);
    const xml = textMessage("hello", "6054768590064719999", "oTalker").replace(
      "<CreateTime>1700000000</CreateTime>",
      `<CreateTime>${now}</CreateTime>`,
    );
    await deliver(appId, xml, { mode: "plaintext" });
    const accepted = await send("oTalker");
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ status: "queued", to: "oTalker" });

    // The consumer's side, on a message of its own (the API's goes through the real queue).
    const message = outboxMessage(tenant.id, "oTalker", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      payload: JSON.stringify({ msgtype: "text", touser: "oTalker", text: { content: "Thanks" } }),
    });
    await logMessages(env.DB, [message]);
    await consume(tenant, message.id, wechat.fetch);
    expect(wechat.calls.at(-1)).toEqual({
      path: "/cgi-bin/message/custom/send",
      body: { msgtype: "text", touser: "oTalker", text: { content: "Thanks" } },
    });
    expect(await (await tenant.api(`/v1/messages/${message.id}`)).json()).toMatchObject({
      status: "delivered",
    });
  });

  it("takes a customer-service message a minute before the window closes, not a minute after", async () => {
    const tenant = await createTenant();
    const appId = await appWithFakeApi(tenant, fakeWeChat(() => ({ errcode: 0 })).fetch);
    const hours48 = 48 * 60 * 60 * 1000;
    await follower(tenant, appId, "oEdgeIn", hours48 - 60_000);
    await follower(tenant, appId, "oEdgeOut", hours48 + 60_000);
    const send = (openid: string) =>
      tenant.api(
        "/v1/messages",
        postJson({
          channel: "wechat",
          app_id: appId,
          openid,
          wechat: { type: "text", content: "Hi" },
        }),
      );
    expect((await send("oEdgeIn")).status).toBe(202);
    expect((await send("oEdgeOut")).status).toBe(422);
  });

  it("refuses customer-service messages past the window's quota", async () => {
    const tenant = await createTenant();
    const appId = await appWithFakeApi(tenant, fakeWeChat(() => ({ errcode: 0 })).fetch);
    await follower(tenant, appId, "oChatty", 60_000);
    const send = () =>
      tenant.api(
        "/v1/messages",
        postJson({
          channel: "wechat",
          app_id: appId,
          openid: "oChatty",
          wechat: { type: "text", content: "Hi" },
        }),
      );
    for (let i = 0; i < 5; i++) {
      expect((await send()).status).toBe(202);
    }
    await expectProblem(await send(), {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      pointers: ["/wechat/type"],
    });
  });

  it("refuses a WeChat message with SMS fields, or without its app and recipient, with 400", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api(
        "/v1/messages",
        postJson({ channel: "wechat", to: "+8613800138000", body: "hi" }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/messages",
        pointers: ["/to", "/body", "/app_id", "/wechat", "/openid"],
      },
    );
  });
});
