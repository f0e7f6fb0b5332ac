import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  allPages,
  insertConversation,
  insertInbound,
  insertSent,
  type ThreadItem,
} from "../support/conversations";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, messageReaches, postJson } from "../support/tenants";
import { appWithFakeApi, fakeWeChat, follower } from "../support/wechat-outbound";

interface ConversationView {
  id: string;
  channel: string;
  counterpart: string;
  contact_id: string | null;
  last_message: { direction: string; body: string; at: string } | null;
  last_activity_at: string;
  unread_count: number;
}

const HOUR = 3_600_000;

describe("the list of conversations", () => {
  it("comes most recent activity first, paged without gaps or repeats, with filters", async () => {
    const tenant = await createTenant();
    const base = Date.now() - 10 * HOUR;
    const oldest = await insertConversation(tenant.id, {
      counterpart: "+8613800000001",
      lastActivityAt: base,
    });
    // Two with the same time: the higher id comes first, and a page may end between them.
    const tiedA = await insertConversation(tenant.id, {
      counterpart: "+8613800000002",
      lastActivityAt: base + HOUR,
    });
    const tiedB = await insertConversation(tenant.id, {
      counterpart: "+8613800000003",
      lastActivityAt: base + HOUR,
    });
    const wechat = await insertConversation(tenant.id, {
      channel: "wechat",
      counterpart: "oNewest",
      lastActivityAt: base + 2 * HOUR,
      unreadCount: 2,
      lastMessage: { direction: "inbound", body: "你好", at: base + 2 * HOUR },
    });
    const [first, second] = [tiedA, tiedB].sort().reverse();
    const expected = [wechat, first, second, oldest];

    const { items, pages } = await allPages<ConversationView>(tenant.api, "/v1/conversations?", 2);
    expect(items.map((c) => c.id)).toEqual(expected);
    expect(pages).toBe(2);
    expect(items[0]).toEqual({
      id: wechat,
      channel: "wechat",
      counterpart: "oNewest",
      contact_id: null,
      last_message: {
        direction: "inbound",
        body: "你好",
        at: new Date(base + 2 * HOUR).toISOString(),
      },
      last_activity_at: new Date(base + 2 * HOUR).toISOString(),
      unread_count: 2,
      created_at: expect.any(String),
      desk_state: "bot",
      agent_id: null,
      skill: null,
      due_at: null,
      satisfaction: null,
    });

    const one = await allPages<ConversationView>(tenant.api, "/v1/conversations?", 1);
    expect(one.items.map((c) => c.id)).toEqual(expected);

    const sms = await allPages<ConversationView>(tenant.api, "/v1/conversations?channel=sms&", 10);
    expect(sms.items.map((c) => c.id)).toEqual([first, second, oldest]);

    const since = new Date(base + HOUR).toISOString();
    const recent = await allPages<ConversationView>(
      tenant.api,
      `/v1/conversations?since=${encodeURIComponent(since)}&`,
      10,
    );
    expect(recent.items.map((c) => c.id)).toEqual([wechat, first, second]);

    const res = await tenant.api(`/v1/conversations/${wechat}`);
    expect(res.status).toBe(200);
    // One conversation adds its WeChat window (none here: no follower wrote).
    expect(await res.json()).toEqual({
      ...items[0],
      service_window: { open: false, expires_at: null },
    });
  });
});

describe("a conversation's thread", () => {
  it("merges inbound and sent messages oldest first, across pages, and only this thread's", async () => {
    const tenant = await createTenant();
    const phone = "+8613800138001";
    const t = Date.now() - 5 * HOUR;
    const id = await insertConversation(tenant.id, { counterpart: phone, lastActivityAt: t + 5 });
    const conversation = { id, counterpart: phone };
    const in1 = await insertInbound(tenant.id, conversation, { body: "hello?", at: t });
    const out1 = await insertSent(tenant.id, { to: phone, body: "hi, how can we help", at: t + 1 });
    const in2 = await insertInbound(tenant.id, conversation, { body: "my order", at: t + 2 });
    const out2 = await insertSent(tenant.id, {
      to: phone,
      body: "on its way",
      at: t + 3,
      status: "sent",
    });
    // An inbound and a sent message at the same millisecond: ordered by id (inb_ before msg_).
    const in3 = await insertInbound(tenant.id, conversation, { body: "thanks", at: t + 4 });
    const out3 = await insertSent(tenant.id, { to: phone, body: "welcome", at: t + 4 });
    const in4 = await insertInbound(tenant.id, conversation, { body: "bye", at: t + 5 });
    // Not this thread's: another number, the same number by WeChat, a test-mode send.
    await insertSent(tenant.id, { to: "+8613800138002", body: "other", at: t + 2 });
    await insertSent(tenant.id, { to: phone, body: "wechat", at: t + 2, channel: "wechat" });
    const testMode = await insertSent(tenant.id, {
      to: phone,
      body: "test",
      at: t + 2,
      mode: "test",
    });

    const expected = [in1, out1, in2, out2, in3, out3, in4];
    for (const limit of [1, 2, 3, 100]) {
      const { items } = await allPages<ThreadItem>(
        tenant.api,
        `/v1/conversations/${id}/messages?`,
        limit,
      );
      expect(
        items.map((m) => m.id),
        `limit ${limit}`,
      ).toEqual(expected);
    }
    const { items } = await allPages<ThreadItem>(
      tenant.api,
      `/v1/conversations/${id}/messages?`,
      3,
    );
    expect(items.slice(0, 4)).toEqual([
      {
        id: in1,
        direction: "inbound",
        body: "hello?",
        status: null,
        at: new Date(t).toISOString(),
      },
      {
        id: out1,
        direction: "outbound",
        body: "hi, how can we help",
        status: "delivered",
        at: new Date(t + 1).toISOString(),
      },
      {
        id: in2,
        direction: "inbound",
        body: "my order",
        status: null,
        at: new Date(t + 2).toISOString(),
      },
      {
        id: out2,
        direction: "outbound",
        body: "on its way",
        status: "sent",
        at: new Date(t + 3).toISOString(),
      },
    ]);

    // A test key sees its own mode's sends beside the inbound messages.
    const testKey = await tenant.addKey(["inbound:read"], "test");
    const asTest = await allPages<ThreadItem>(
      (path) => call(path, testKey.key),
      `/v1/conversations/${id}/messages?`,
      100,
    );
    expect(asTest.items.map((m) => m.id)).toEqual([in1, in2, testMode, in3, in4]);
  });

  it("does not mark the conversation read when read; POST …/read does", async () => {
    const tenant = await createTenant();
    const id = await insertConversation(tenant.id, {
      counterpart: "+8613800138003",
      unreadCount: 3,
    });
    expect((await tenant.api(`/v1/conversations/${id}/messages`)).status).toBe(200);
    const unread = (await (await tenant.api(`/v1/conversations/${id}`)).json()) as ConversationView;
    expect(unread.unread_count).toBe(3);
    const res = await tenant.api(`/v1/conversations/${id}/read`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as ConversationView).unread_count).toBe(0);
    const read = (await (await tenant.api(`/v1/conversations/${id}`)).json()) as ConversationView;
    expect(read).toEqual({ ...unread, unread_count: 0 });
  });
});

describe("replying in a conversation", () => {
  it("sends an SMS reply that is delivered, shows in the thread and updates the conversation", async () => {
    const tenant = await createTenant();
    const phone = "+8613800138004";
    const t = Date.now() - HOUR;
    const id = await insertConversation(tenant.id, {
      counterpart: phone,
      lastActivityAt: t,
      unreadCount: 2,
      lastMessage: { direction: "inbound", body: "where is my parcel", at: t },
    });
    const inbound = await insertInbound(
      tenant.id,
      { id, counterpart: phone },
      {
        body: "where is my parcel",
        at: t,
      },
    );

    const send = () =>
      tenant.api(
        `/v1/conversations/${id}/messages`,
        postJson({ body: "It ships today" }, { "idempotency-key": "reply-1" }),
      );
    const res = await send();
    expect(res.status).toBe(202);
    const reply = (await res.json()) as Record<string, unknown>;
    expect(reply).toEqual({
      id: expect.stringMatching(/^msg_/),
      direction: "outbound",
      body: "It ships today",
      status: "queued",
      at: expect.any(String),
      conversation_id: id,
      channel: "sms",
      to: phone,
      segments: 1,
      cost: expect.any(Number),
      currency: expect.any(String),
    });
    const replay = await send();
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as { id: string }).id).toBe(reply.id);

    const delivered = await messageReaches(tenant, String(reply.id), "delivered");
    expect(delivered).toMatchObject({
      to: phone,
      provider: "sandbox",
      body: expect.stringContaining("It ships today"),
    });

    const conversation = (await (
      await tenant.api(`/v1/conversations/${id}`)
    ).json()) as ConversationView;
    expect(conversation.last_message).toEqual({
      direction: "outbound",
      body: "It ships today",
      at: reply.at,
    });
    expect(conversation.last_activity_at).toBe(reply.at);
    expect(conversation.unread_count).toBe(0);

    const thread = await eventually(async () => {
      const page = (await (await tenant.api(`/v1/conversations/${id}/messages`)).json()) as {
        data: ThreadItem[];
      };
      return page.data.length === 2 ? page.data : undefined;
    });
    expect(thread.map((m) => [m.id, m.direction])).toEqual([
      [inbound, "inbound"],
      [reply.id, "outbound"],
    ]);
  });

  it("sends a WeChat reply as a customer-service text through the follower's app in the window", async () => {
    const tenant = await createTenant();
    const appId = await appWithFakeApi(tenant, fakeWeChat(() => ({ errcode: 0 })).fetch);
    await follower(tenant, appId, "oFan", 10 * 60_000);
    const id = await insertConversation(tenant.id, { channel: "wechat", counterpart: "oFan" });
    await insertInbound(
      tenant.id,
      { id, channel: "wechat", counterpart: "oFan" },
      {
        body: "在吗",
        at: Date.now() - 10 * 60_000,
        to: appId,
      },
    );

    const res = await tenant.api(`/v1/conversations/${id}/messages`, postJson({ body: "在的" }));
    expect(res.status).toBe(202);
    const reply = (await res.json()) as { id: string; channel: string; to: string };
    expect(reply).toMatchObject({ channel: "wechat", to: "oFan", direction: "outbound" });
    const message = (await (await tenant.api(`/v1/messages/${reply.id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(message).toMatchObject({ channel: "wechat", to: "oFan", from: appId, body: "在的" });
    const slot = await env.DB.prepare(
      "SELECT message_id FROM wechat_service_reservations WHERE tenant_id = ? AND openid = ?",
    )
      .bind(tenant.id, "oFan")
      .first<{ message_id: string }>();
    expect(slot?.message_id).toBe(reply.id);
  });

  it("refuses a WeChat reply once the follower's 48-hour window has closed (422)", async () => {
    const tenant = await createTenant();
    const appId = await appWithFakeApi(tenant, fakeWeChat(() => ({ errcode: 0 })).fetch);
    const wrote = Date.now() - 49 * HOUR;
    await follower(tenant, appId, "oGone", 49 * HOUR);
    const id = await insertConversation(tenant.id, {
      channel: "wechat",
      counterpart: "oGone",
      lastActivityAt: wrote,
      unreadCount: 1,
      lastMessage: { direction: "inbound", body: "hi", at: wrote },
    });
    await insertInbound(
      tenant.id,
      { id, channel: "wechat", counterpart: "oGone" },
      {
        body: "hi",
        at: wrote,
        to: appId,
      },
    );
    const before = await (await tenant.api(`/v1/conversations/${id}`)).json();

    const res = await tenant.api(`/v1/conversations/${id}/messages`, postJson({ body: "sorry" }));
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/conversations/${id}/messages`,
      detail: /window is closed/,
      pointers: ["/body"],
    });
    expect(await (await tenant.api(`/v1/conversations/${id}`)).json()).toEqual(before);
    const { results } = await env.DB.prepare("SELECT id FROM messages WHERE tenant_id = ?")
      .bind(tenant.id)
      .all();
    expect(results).toEqual([]);
  });
});
