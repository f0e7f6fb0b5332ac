// The API document's `webhooks` give the `data` of every event as a typed schema, and those
// schemas are what the Worker really sends: the functions that build each event's data are parsed
// here with them, strictly (an added, renamed or retyped field fails).
import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { conversationEventData, type DeskMove } from "../../src/delivery/desk";
import { inboundEventData } from "../../src/delivery/inbound-store";
import { messageEvent } from "../../src/delivery/message-events";
import { type VerificationRow, verificationView } from "../../src/delivery/verification-records";
import { WEBHOOK_EVENTS } from "../../src/domain/vocabulary";
import { budgetThresholdData } from "../../src/durable-objects/dispatcher/budget";
import {
  BudgetEventData,
  ConversationEventData,
  InboundEventData,
  MessageEventData,
  OptOutEventData,
  OptOutRemovedEventData,
  VerificationEventData,
  WeChatScanEventData,
  webhookDataExample,
  webhookDataSchema,
} from "../../src/routes/webhook-doc";
import { type OptOutRow, optOutEventData } from "../../src/services/inbound/opt-outs";
import { type ScanResult, scanEventData } from "../../src/services/wechat/qrcodes";
import { call } from "../support/tenants";

/** Parses `data` with `schema` refusing unknown keys, and checks nothing was dropped or changed. */
function expectFits(schema: z.ZodType, data: unknown): void {
  const strict = "strict" in schema ? (schema as z.ZodObject).strict() : schema;
  expect(strict.parse(data)).toEqual(data);
}

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

const T0 = Date.UTC(2026, 11, 7, 12);

describe("the opt-out events' data", () => {
  const row: OptOutRow = {
    tenantId: "tnt_a",
    phone: "+8613800138000",
    source: "keyword",
    reason: null,
    inboundId: "inb_1",
    createdAt: T0,
  };

  it("fits OptOutEventData for opt_out.created, keyword and manual", () => {
    expectFits(OptOutEventData, optOutEventData(row, T0));
    const manual = { ...row, source: "manual" as const, reason: "asked by phone", inboundId: null };
    expectFits(OptOutEventData, optOutEventData(manual, T0));
    // The removal's fields are not in a created event's schema.
    expect(() =>
      OptOutEventData.strict().parse(optOutEventData(row, T0 + 1, { removed_by: "manual" })),
    ).toThrow();
  });

  it("fits OptOutRemovedEventData for opt_out.removed", () => {
    const data = optOutEventData(row, T0 + 60_000, { removed_by: "keyword" });
    expectFits(OptOutRemovedEventData, data);
    expect(data).toMatchObject({ removed_by: "keyword", removed_at: "2026-12-07T12:01:00.000Z" });
    expect(() => OptOutRemovedEventData.parse(optOutEventData(row, T0))).toThrow();
  });
});

describe("the verification events' data", () => {
  const row: VerificationRow = {
    id: "vrf_1",
    tenantId: "tnt_a",
    channel: "sms",
    to: "+8613800138000",
    recipient: "+8613800138000",
    country: "CN",
    appId: null,
    status: "approved",
    codeHash: "h",
    codeLength: 6,
    attempts: 1,
    sendCount: 1,
    revision: 2,
    messageId: "msg_1",
    mode: "live",
    createdAt: T0,
    updatedAt: T0 + 42_000,
    expiresAt: T0 + 600_000,
    approvedAt: T0 + 42_000,
  };

  it("fits VerificationEventData when approved and when expired (by the object or the sweep)", () => {
    const approved = verificationView(row, T0 + 42_000);
    expectFits(VerificationEventData, approved);
    expect(approved).toMatchObject({ status: "approved", attempts_left: 0 });
    const expired = {
      ...row,
      status: "expired" as const,
      approvedAt: null,
      channel: "wechat" as const,
    };
    expectFits(VerificationEventData, verificationView(expired, T0 + 600_000));
    // A pending one past its time is shown expired, as the D1 sweep emits it.
    const stale = { ...row, status: "pending" as const, approvedAt: null };
    expect(verificationView(stale, T0 + 700_000)).toMatchObject({ status: "expired" });
    expectFits(VerificationEventData, verificationView(stale, T0 + 700_000));
  });
});

describe("the budget event's data", () => {
  it("fits BudgetEventData at each threshold", () => {
    const eighty = budgetThresholdData(80, "2026-12", 500_000_000, 400_013_000, "CNY");
    expectFits(BudgetEventData, eighty);
    expect(eighty).toMatchObject({ limit: 500, used: 400.013, currency: "CNY" });
    const over = budgetThresholdData(100, "2026-12", 500_000_000, 512_000_000, "USD");
    expectFits(BudgetEventData, over);
    expect(over.remaining).toBe(0);
  });
});

describe("the conversation events' data", () => {
  const move: DeskMove = {
    conversationId: "cnv_1",
    from: null,
    to: "queued",
    agentId: null,
    skill: null,
    dueAt: T0 + 300_000,
    version: 1,
    actor: "customer",
    reason: null,
    at: T0,
  };

  it("fits ConversationEventData for created, assigned and resolved", () => {
    const moves: DeskMove[] = [
      move,
      { ...move, from: "queued", to: "assigned", agentId: "usr_1", skill: "billing", version: 2 },
      { ...move, from: "assigned", to: "resolved", agentId: "usr_1", dueAt: null, actor: "usr_1" },
      { ...move, from: "queued", to: "left_message", reason: "queue_timeout", actor: "system" },
    ];
    for (const m of moves) {
      const data = conversationEventData(m);
      expectFits(ConversationEventData, data);
      expect(data).toMatchObject({ id: "cnv_1", conversation_id: "cnv_1", state: m.to });
    }
  });
});

describe("the wechat.scan event's data", () => {
  const scan = {
    appId: "wx_app",
    openid: "oFollower1",
    event: "subscribe" as const,
    sceneStr: "store-42",
  };
  const code = { id: "qr_1", scene: "store-42" };

  it("fits WeChatScanEventData for every action result, with and without a code", () => {
    const results: ScanResult[] = [
      { type: "none" },
      { type: "bind_contact", status: "bound", external_id: "crm-1001" },
      { type: "tag", status: "tagged", tag_id: 101 },
      { type: "auto_reply", status: "replied" },
      { type: "bind_contact", status: "already_used", reason: "used by another follower" },
      { type: "tag", status: "failed", reason: "WeChat said 45159" },
    ];
    for (const result of results) {
      expectFits(WeChatScanEventData, scanEventData(scan, code, result));
    }
    const unknown = scanEventData({ ...scan, event: "scan" }, undefined, { type: "none" });
    expectFits(WeChatScanEventData, unknown);
    expect(unknown).toMatchObject({ qrcode_id: null, scene: "store-42" });
    // The action result is strict too: a field it never has fails.
    expect(() =>
      WeChatScanEventData.parse({ ...unknown, action_result: { type: "none", extra: 1 } }),
    ).toThrow();
  });
});

describe("every event's documented example", () => {
  it("fits its schema, strictly", () => {
    for (const event of WEBHOOK_EVENTS) {
      expectFits(webhookDataSchema(event), webhookDataExample(event));
    }
  });
});

describe("GET /openapi.json's webhooks", () => {
  it("type every event's data as a named schema with an example, none free-form", async () => {
    const res = await call("/openapi.json", null);
    const doc = (await res.json()) as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      webhooks: Record<string, { post: { requestBody: { content: Record<string, unknown> } } }>;
    };
    for (const event of WEBHOOK_EVENTS) {
      const name = `WebhookEvent_${event.replace(/[._]/g, "_")}`;
      const data = JSON.stringify(doc.components.schemas[name]?.properties.data);
      expect(data, event).toMatch(/#\/components\/schemas\/\w+EventData"/);
      const media = doc.webhooks[event]?.post.requestBody.content["application/json"] as {
        example: { type: string; data: Record<string, unknown> };
      };
      expect(media.example.type).toBe(event);
      expect(media.example.data).toEqual(webhookDataExample(event));
    }
    // Both budget thresholds are in the document, not only the first.
    const budget = JSON.stringify(doc.components.schemas.BudgetEventData?.properties.threshold);
    expect(budget).toContain("80");
    expect(budget).toContain("100");
  });

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
