// The API document's `webhooks` give the `data` of the message and inbound events as typed
// schemas, and those schemas are what the Worker really sends: the functions that build each
// event's data are parsed here with them, strictly (an added, renamed or retyped field fails).
import { describe, expect, it } from "vitest";
import { inboundEventData } from "../../src/delivery/inbound-store";
import { messageEvent } from "../../src/delivery/message-events";
import { InboundEventData, MessageEventData } from "../../src/routes/webhook-doc";
import { call } from "../support/tenants";

const message = {
  id: "msg_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  tenantId: "tnt_a",
  channel: "sms" as const,
  recipient: "+8613800138000",
  segments: 2,
  encoding: "UCS-2" as const,
  costMicros: 13_000,
  batchId: null,
  templateId: "tpl_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  metadata: { order_id: "1001" },
  createdAt: Date.UTC(2026, 11, 7, 12),
};

describe("the message events' data", () => {
  it("fits MessageEventData for a receipt and for a failure, SMS and WeChat", () => {
    const delivered = messageEvent(message, {
      status: "delivered",
      reason: null,
      provider: "sandbox",
      providerMessageId: "sbx_1",
      at: message.createdAt + 3000,
      sentAt: message.createdAt + 1000,
    });
    const failed = messageEvent(
      { ...message, channel: "wechat", recipient: "oFollower1", metadata: null },
      { status: "failed", reason: "refused", provider: null, providerMessageId: null, at: 1 },
    );
    for (const event of [delivered, failed]) {
      expect(event).not.toBeNull();
      expect(MessageEventData.strict().parse(event?.data)).toEqual(event?.data);
    }
    expect(delivered?.data).toMatchObject({ segments: 2, encoding: "UCS-2", cost: 0.013 });
    expect(failed?.data).toMatchObject({ segments: null, encoding: null, sent_at: null });
  });
});

describe("the inbound event's data", () => {
  it("fits InboundEventData", () => {
    const data = inboundEventData({
      id: "inb_1",
      tenantId: "tnt_a",
      channel: "sms",
      conversationId: "cnv_1",
      sender: "+8613800138000",
      recipient: "+8610690000",
      body: "hello",
      provider: "sandbox",
      providerMessageId: "sbx_1",
      raw: {},
      handling: {},
      receivedAt: Date.UTC(2026, 11, 7, 12),
    } as Parameters<typeof inboundEventData>[0]);
    expect(InboundEventData.strict().parse(data)).toEqual(data);
  });
});

describe("GET /openapi.json's webhooks", () => {
  it("type the data of the message and inbound events, with an example that shows it", async () => {
    const res = await call("/openapi.json", null);
    const doc = (await res.json()) as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      webhooks: Record<string, { post: { requestBody: { content: Record<string, unknown> } } }>;
    };
    const envelope = doc.components.schemas.WebhookEvent_message_delivered;
    expect(JSON.stringify(envelope?.properties.data)).toContain(
      "#/components/schemas/MessageEventData",
    );
    expect(
      JSON.stringify(doc.components.schemas.WebhookEvent_inbound_received?.properties.data),
    ).toContain("#/components/schemas/InboundEventData");
    const media = doc.webhooks["message.delivered"]?.post.requestBody.content[
      "application/json"
    ] as { example: { data: Record<string, unknown> } };
    expect(media.example.data).toMatchObject({ status: "delivered", to: "+8613800138000" });
  });
});
