/** WeChat users' messages land in inbound_messages and their conversations, beside the inbox. */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import { createTenant, eventually, postJson } from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";
import { deliver, eventMessage, failD1On, textMessage, wechatApp } from "../support/wechat";

interface StoredInbound {
  id: string;
  channel: string;
  sender: string;
  recipient: string;
  body: string;
  provider: string;
  conversation_id: string;
  handling: string;
}

async function inboundOf(tenantId: string): Promise<StoredInbound[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM inbound_messages WHERE tenant_id = ? ORDER BY id",
  )
    .bind(tenantId)
    .all<StoredInbound>();
  return results;
}

async function inboxCount(appId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM wechat_inbox WHERE app_id = ?")
    .bind(appId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function conversationOf(tenantId: string, openid: string) {
  return env.DB.prepare(
    "SELECT * FROM conversations WHERE tenant_id = ? AND channel = 'wechat' AND counterpart = ?",
  )
    .bind(tenantId, openid)
    .first<{ id: string; contact_id: string | null; unread_count: number; last_message: string }>();
}

describe("WeChat user messages as inbound messages", () => {
  it("stores a text message with its conversation and contact, emits inbound.received once, and leaves events out", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const endpoint = await createEndpoint(tenant, { events: ["inbound.received"] });
    const contact = await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "user-7", wechat: [{ app_id: appId, openid: "oAlice" }] }),
    );
    expect(contact.status).toBe(201);
    const { id: contactId } = (await contact.json()) as { id: string };

    const message = textMessage("你好", "6001", "oAlice");
    expect((await deliver(appId, message, { mode: "plaintext" })).status).toBe(200);
    // WeChat's retry of the same push.
    expect((await deliver(appId, message, { mode: "plaintext" })).status).toBe(200);
    expect(
      (await deliver(appId, eventMessage("subscribe", "", "oAlice"), { mode: "plaintext" })).status,
    ).toBe(200);
    await eventually(async () => ((await inboxCount(appId)) === 2 ? true : undefined));

    const rows = await inboundOf(tenant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      channel: "wechat",
      sender: "oAlice",
      recipient: appId,
      body: "你好",
      provider: "wechat",
    });
    expect(JSON.parse(rows[0]?.handling ?? "{}")).toEqual({ done: true });
    const conversation = await conversationOf(tenant.id, "oAlice");
    expect(conversation).toMatchObject({
      id: rows[0]?.conversation_id,
      contact_id: contactId,
      unread_count: 1,
    });
    expect(JSON.parse(conversation?.last_message ?? "{}").body).toBe("你好");
    // The event is emitted right after the batch that stored the message.
    const deliveries = await eventually(async () => {
      const found = await deliveriesOf(endpoint.id);
      return found.length > 0 ? found : undefined;
    });
    expect(deliveries).toHaveLength(1);
    expect(JSON.parse(deliveries[0]?.payload ?? "{}").data).toMatchObject({
      id: rows[0]?.id,
      channel: "wechat",
      from: "oAlice",
      to: appId,
      body: "你好",
    });

    const listed = await tenant.api("/v1/inbound?channel=wechat");
    expect(((await listed.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual([
      rows[0]?.id,
    ]);
    // The inbox keeps its rows and its shape.
    const inbox = await tenant.api(`/v1/wechat/apps/${appId}/inbox`);
    expect(inbox.status).toBe(200);
    expect(((await inbox.json()) as { data: unknown[] }).data).toHaveLength(2);
  });

  it("stores nothing of a message until D1 takes the inbox row and the inbound message together", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const endpoint = await createEndpoint(tenant, { events: ["inbound.received"] });
    const restore = failD1On(["inbound_messages"]);
    try {
      const res = await deliver(appId, textMessage("later", "6002", "oBob"), {
        mode: "plaintext",
      });
      expect(res.status).toBe(200);
    } finally {
      restore();
    }
    // One batch: the inbox row did not go without its inbound message.
    expect(await inboxCount(appId)).toBe(0);
    expect(await inboundOf(tenant.id)).toEqual([]);

    await runDurableObjectAlarm(wechatAccountOf(env, appId));
    await eventually(async () => ((await inboxCount(appId)) === 1 ? true : undefined));
    await eventually(async () => ((await deliveriesOf(endpoint.id)).length > 0 ? true : undefined));
    // A second copy (the alarm again) stores and emits nothing again.
    await runDurableObjectAlarm(wechatAccountOf(env, appId));
    const rows = await inboundOf(tenant.id);
    expect(rows.map((r) => r.body)).toEqual(["later"]);
    expect((await conversationOf(tenant.id, "oBob"))?.unread_count).toBe(1);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });
});
