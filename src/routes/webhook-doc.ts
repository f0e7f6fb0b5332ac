/**
 * The OpenAPI 3.1 `webhooks` of the document: every event a webhook endpoint can receive
 * (vocabulary.ts's WEBHOOK_EVENTS), its envelope `{id, type, created_at, data}` and the
 * `Relaybox-Signature` header with its scheme (DESIGN.md's Contracts, domain/webhook-signature.ts).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { BUDGET_THRESHOLDS } from "../domain/budget";
import { DESK_STATES } from "../domain/desk";
import { CHANNELS, WEBHOOK_EVENTS, type WebhookEvent } from "../domain/vocabulary";

export const SIGNATURE_SCHEME =
  "`Relaybox-Signature: t=<unix seconds>,v1=<hex>`: the hex is HMAC-SHA256, keyed by the endpoint secret's UTF-8 bytes, over `<t>.<raw body>`. Compare it in constant time against the raw body (before any JSON parsing) and refuse a `t` more than 5 minutes from now. Answer 2xx within 10 s; anything else is retried with backoff for up to 24 h, each attempt recorded under `GET /v1/webhooks/{id}/deliveries`. An event's `id` is stable across retries: use it to drop duplicates.";

const nullableString = (example: string) => z.string().nullable().openapi({ example });
const isoTime = (example: string) =>
  z.string().openapi({ format: "date-time", example: `2026-12-07T12:00:0${example}.000Z` });

/**
 * `data` of the `message.*` events: delivery/message-events.ts's `messageEvent` writes exactly
 * these fields (test/routes/webhook-doc.test.ts parses its output with this schema, strictly).
 */
export const MessageEventData = z
  .object({
    id: z.string().openapi({ example: "msg_01JF3Z8Q6W2N7V5K4T9R1M0ABC" }),
    channel: z.enum(CHANNELS),
    status: z.enum(["sent", "delivered", "undelivered", "failed", "expired"]),
    status_reason: z.string().nullable().openapi({
      description: "Why it failed, was undelivered or expired; else null",
      example: null,
    }),
    to: z.string().openapi({ example: "+8613800138000", description: "E.164, or a WeChat openid" }),
    provider: nullableString("sandbox"),
    provider_message_id: nullableString("sbx_01JF3Z8Q6W2N7V5K4T9R1M0ABD"),
    segments: z.number().int().nullable().openapi({ example: 1, description: "SMS only" }),
    encoding: z.enum(["GSM-7", "UCS-2"]).nullable().openapi({ description: "SMS only" }),
    cost: z.number().openapi({ example: 0.0065, description: "In the account's currency" }),
    batch_id: z.string().nullable().openapi({ example: null }),
    template_id: z.string().nullable().openapi({ example: null }),
    metadata: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ example: { order_id: "1001" }, description: "As given when it was sent" }),
    created_at: isoTime("0"),
    sent_at: isoTime("1").nullable(),
    completed_at: isoTime("3")
      .nullable()
      .openapi({ description: "When it reached a final status; null for `message.sent`" }),
  })
  .openapi("MessageEventData");

/** `data` of `inbound.received`: delivery/inbound-store.ts's `inboundEventData`. */
export const InboundEventData = z
  .object({
    id: z.string().openapi({ example: "inb_01JF3Z8Q6W2N7V5K4T9R1M0ABC" }),
    channel: z.enum(CHANNELS),
    from: z.string().openapi({ example: "+8613800138000" }),
    to: z.string().openapi({ example: "+8610690000" }),
    body: z.string().openapi({ example: "What time do you open?" }),
    conversation_id: z.string().openapi({ example: "cnv_01JF3Z8Q6W2N7V5K4T9R1M0ABC" }),
    received_at: isoTime("0"),
  })
  .openapi("InboundEventData");

/** `data` of `opt_out.created`: services/inbound/opt-outs.ts's `optOutEventData`. */
export const OptOutEventData = z
  .object({
    phone: z.string().openapi({ description: "E.164", example: "+8613800138000" }),
    source: z.enum(["keyword", "manual"]).openapi({
      description:
        "`keyword`: the number replied STOP, 退订, TD…; `manual`: you suppressed it (`POST /v1/opt-outs`)",
      example: "keyword",
    }),
    reason: z.string().nullable().openapi({
      description: "The reason you gave when you suppressed it; null for a keyword",
      example: null,
    }),
    inbound_id: z.string().nullable().openapi({
      description: "The inbound message (`inb_…`) that opted it out, for a keyword",
      example: "inb_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    }),
    created_at: isoTime("0").openapi({ description: "When it opted out" }),
  })
  .openapi("OptOutEventData");

/** `data` of `opt_out.removed`: the same, with who removed it and when. */
export const OptOutRemovedEventData = OptOutEventData.extend({
  removed_by: z.enum(["keyword", "manual"]).openapi({
    description: "`keyword`: the number sent an opt-in keyword (START…); `manual`: you removed it",
    example: "keyword",
  }),
  removed_at: isoTime("5").openapi({ description: "When it was removed" }),
}).openapi("OptOutRemovedEventData");

/**
 * `data` of `verification.approved` and `verification.expired`: delivery/verification-records.ts's
 * `verificationView`, as `GET /v1/verifications/{id}` shows it (never the code).
 */
export const VerificationEventData = z
  .object({
    id: z.string().openapi({ example: "vrf_01JF3Z8Q6W2N7V5K4T9R1M0ABC" }),
    to: z.string().openapi({
      description: "E.164 for SMS; the contact or openid for WeChat",
      example: "+8613800138000",
    }),
    channel: z.enum(["sms", "wechat", "auto"]).openapi({ example: "sms" }),
    status: z.enum(["approved", "expired"]).openapi({
      description: "`approved` for `verification.approved`, `expired` for `verification.expired`",
    }),
    send_count: z.number().int().openapi({ description: "Codes sent (1 + resends)", example: 1 }),
    attempts_left: z
      .number()
      .int()
      .openapi({ description: "Checks left: 0 once it is no longer pending", example: 0 }),
    expires_at: isoTime("0").openapi({ example: "2026-12-07T12:10:00.000Z" }),
    created_at: isoTime("0"),
    approved_at: isoTime("0").nullable().openapi({
      description: "When the right code was checked; null for `verification.expired`",
      example: "2026-12-07T12:00:42.000Z",
    }),
  })
  .openapi("VerificationEventData");

/** `data` of `budget.threshold`: durable-objects/dispatcher/budget.ts's `budgetThresholdData`. */
export const BudgetEventData = z
  .object({
    // One literal each: the document generator keeps only the first of a multi-value literal.
    threshold: z.union(BUDGET_THRESHOLDS.map((t) => z.literal(t))).openapi({
      description: "The percentage of the monthly budget now spent (each is sent once a month)",
      example: 80,
    }),
    month: z.string().openapi({
      description: "The budget's calendar month, in the budget's time zone",
      example: "2026-12",
    }),
    limit: z.number().openapi({ description: "The monthly budget", example: 500 }),
    used: z.number().openapi({ description: "Spent this month so far", example: 400.013 }),
    remaining: z
      .number()
      .openapi({ description: "`limit - used`, never below 0", example: 99.987 }),
    currency: z.string().openapi({ description: "The account's currency", example: "CNY" }),
  })
  .openapi("BudgetEventData");

const DeskState = z.enum(DESK_STATES);

/** `data` of `conversation.*`: delivery/desk.ts's `conversationEventData` (one desk move). */
export const ConversationEventData = z
  .object({
    id: z.string().openapi({
      description: "The conversation",
      example: "cnv_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    }),
    conversation_id: z.string().openapi({
      description: "The conversation (same as `id`)",
      example: "cnv_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    }),
    from_state: DeskState.nullable().openapi({
      description: "The state before the move; null when the conversation was just created",
    }),
    state: DeskState.openapi({ description: "The state after the move" }),
    agent_id: z.string().nullable().openapi({
      description: "The agent (`usr_…`) holding it after the move",
      example: "usr_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    }),
    skill: z
      .string()
      .nullable()
      .openapi({ description: "The skill group it waits for", example: "billing" }),
    due_at: isoTime("0").nullable().openapi({
      description: "When it times out of the queue or the first answer is due; else null",
      example: null,
    }),
    actor: z.string().openapi({
      description: "Who moved it: a user id, `customer`, `system`, or an API key id",
      example: "system",
    }),
    reason: z.string().nullable().openapi({
      description:
        "Why, when it is not plain (`after_hours`, `no_agent`, `queue_timeout`, `transfer`…)",
      example: null,
    }),
    at: isoTime("2").openapi({ description: "When it moved" }),
  })
  .openapi("ConversationEventData");

const ScanAction = z.enum(["bind_contact", "auto_reply", "tag"]);

/** What the code's action did (services/wechat/qrcodes.ts's `ScanResult`). */
const ScanActionResult = z
  .union([
    z.object({ type: z.literal("none") }).strict(),
    z
      .object({
        type: z.literal("bind_contact"),
        status: z.literal("bound"),
        external_id: z.string().openapi({ example: "crm-1001" }),
      })
      .strict(),
    z
      .object({ type: z.literal("tag"), status: z.literal("tagged"), tag_id: z.number().int() })
      .strict(),
    z.object({ type: z.literal("auto_reply"), status: z.literal("replied") }).strict(),
    z
      .object({
        type: ScanAction,
        status: z.enum(["already_used", "expired", "failed"]),
        reason: z.string().openapi({ example: "the code was used by another follower" }),
      })
      .strict(),
  ])
  .openapi({
    description:
      "`none` (no code of yours has the scene, or it has no action), what it did (`bound`, `tagged`, `replied`), or why not (`already_used`, `expired`, `failed` with a `reason`)",
  });

/** `data` of `wechat.scan`: services/wechat/qrcodes.ts's `scanEventData`. */
export const WeChatScanEventData = z
  .object({
    app_id: z
      .string()
      .openapi({ description: "The official account's AppID", example: "wx8a3f0c2b1d4e5f60" }),
    openid: z
      .string()
      .openapi({ description: "Who scanned", example: "oX1a2B3c4D5e6F7g8H9i0J1k2L3m" }),
    scene: z.string().openapi({
      description:
        "The code's scene as you created it (WeChat's scene string when no code of yours has it)",
      example: "store-42",
    }),
    qrcode_id: z.string().nullable().openapi({
      description: "Your QR code (`qr_…`); null when none has the scene",
      example: "qr_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    }),
    event: z.enum(["scan", "subscribe"]).openapi({
      description: "`subscribe`: the scan made them follow the account; `scan`: they already did",
    }),
    action_result: ScanActionResult,
  })
  .openapi("WeChatScanEventData");

const TYPED_DATA: Record<WebhookEvent, z.ZodType> = {
  "message.sent": MessageEventData,
  "message.delivered": MessageEventData,
  "message.undelivered": MessageEventData,
  "message.failed": MessageEventData,
  "message.expired": MessageEventData,
  "inbound.received": InboundEventData,
  "opt_out.created": OptOutEventData,
  "opt_out.removed": OptOutRemovedEventData,
  "verification.approved": VerificationEventData,
  "verification.expired": VerificationEventData,
  "budget.threshold": BudgetEventData,
  "conversation.created": ConversationEventData,
  "conversation.assigned": ConversationEventData,
  "conversation.resolved": ConversationEventData,
  "wechat.scan": WeChatScanEventData,
};

/** Each event's `data` schema, for the test that parses the Worker's payloads with them. */
export function webhookDataSchema(event: WebhookEvent): z.ZodType {
  return TYPED_DATA[event];
}

const MESSAGE_EXAMPLE = {
  id: "msg_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  channel: "sms",
  status_reason: null,
  to: "+8613800138000",
  provider: "sandbox",
  provider_message_id: "sbx_01JF3Z8Q6W2N7V5K4T9R1M0ABD",
  segments: 1,
  encoding: "UCS-2",
  cost: 0.0065,
  batch_id: null,
  template_id: null,
  metadata: { order_id: "1001" },
  created_at: "2026-12-07T12:00:00.000Z",
  sent_at: "2026-12-07T12:00:01.000Z",
};

/** A realistic `data` for each typed event's example. */
const OPT_OUT_EXAMPLE = {
  phone: "+8613800138000",
  source: "keyword",
  reason: null,
  inbound_id: "inb_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  created_at: "2026-12-07T12:00:00.000Z",
};

const VERIFICATION_EXAMPLE = {
  id: "vrf_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  to: "+8613800138000",
  channel: "sms",
  send_count: 1,
  attempts_left: 0,
  expires_at: "2026-12-07T12:10:00.000Z",
  created_at: "2026-12-07T12:00:00.000Z",
};

const CONVERSATION_EXAMPLE = {
  id: "cnv_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  conversation_id: "cnv_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  skill: "billing",
};

const SCAN_EXAMPLE = {
  app_id: "wx8a3f0c2b1d4e5f60",
  openid: "oX1a2B3c4D5e6F7g8H9i0J1k2L3m",
  scene: "store-42",
  qrcode_id: "qr_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
  event: "subscribe",
  action_result: { type: "tag", status: "tagged", tag_id: 101 },
};

const DATA_EXAMPLES: Record<WebhookEvent, Record<string, unknown>> = {
  "message.sent": { ...MESSAGE_EXAMPLE, status: "sent", completed_at: null },
  "message.delivered": {
    ...MESSAGE_EXAMPLE,
    status: "delivered",
    completed_at: "2026-12-07T12:00:03.000Z",
  },
  "message.undelivered": {
    ...MESSAGE_EXAMPLE,
    status: "undelivered",
    status_reason: "carrier: absent subscriber",
    completed_at: "2026-12-07T12:00:03.000Z",
  },
  "message.failed": {
    ...MESSAGE_EXAMPLE,
    status: "failed",
    status_reason: "provider refused: invalid number",
    provider_message_id: null,
    sent_at: null,
    completed_at: "2026-12-07T12:00:01.000Z",
  },
  "message.expired": {
    ...MESSAGE_EXAMPLE,
    status: "expired",
    status_reason: "no receipt by the receipt deadline",
    completed_at: "2026-12-08T12:00:01.000Z",
  },
  "inbound.received": {
    id: "inb_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    channel: "sms",
    from: "+8613800138000",
    to: "+8610690000",
    body: "What time do you open?",
    conversation_id: "cnv_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    received_at: "2026-12-07T12:00:00.000Z",
  },
  "opt_out.created": OPT_OUT_EXAMPLE,
  "opt_out.removed": {
    ...OPT_OUT_EXAMPLE,
    removed_by: "keyword",
    removed_at: "2026-12-09T08:30:00.000Z",
  },
  "verification.approved": {
    ...VERIFICATION_EXAMPLE,
    status: "approved",
    approved_at: "2026-12-07T12:00:42.000Z",
  },
  "verification.expired": {
    ...VERIFICATION_EXAMPLE,
    status: "expired",
    send_count: 2,
    approved_at: null,
  },
  "budget.threshold": {
    threshold: 80,
    month: "2026-12",
    limit: 500,
    used: 400.013,
    remaining: 99.987,
    currency: "CNY",
  },
  "conversation.created": {
    ...CONVERSATION_EXAMPLE,
    from_state: null,
    state: "queued",
    agent_id: null,
    due_at: "2026-12-07T12:05:00.000Z",
    actor: "customer",
    reason: null,
    at: "2026-12-07T12:00:00.000Z",
  },
  "conversation.assigned": {
    ...CONVERSATION_EXAMPLE,
    from_state: "queued",
    state: "assigned",
    agent_id: "usr_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    due_at: "2026-12-07T12:03:00.000Z",
    actor: "system",
    reason: null,
    at: "2026-12-07T12:00:02.000Z",
  },
  "conversation.resolved": {
    ...CONVERSATION_EXAMPLE,
    from_state: "assigned",
    state: "resolved",
    agent_id: "usr_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    due_at: null,
    actor: "usr_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
    reason: null,
    at: "2026-12-07T12:09:30.000Z",
  },
  "wechat.scan": SCAN_EXAMPLE,
};

/** The realistic `data` the document shows for `event` (the test parses each with its schema). */
export function webhookDataExample(event: WebhookEvent): Record<string, unknown> {
  return DATA_EXAMPLES[event];
}

const DATA: Record<WebhookEvent, { summary: string; data: string }> = {
  "message.sent": {
    summary: "A provider accepted a message",
    data: "The message (as `GET /v1/messages/{id}` shows it) with `status: sent`",
  },
  "message.delivered": {
    summary: "A message was delivered",
    data: "The message with `status: delivered` and `completed_at`",
  },
  "message.undelivered": {
    summary: "The carrier could not deliver a message",
    data: "The message with `status: undelivered` and `status_reason`",
  },
  "message.failed": {
    summary: "A message could not be sent",
    data: "The message with `status: failed` and `status_reason`",
  },
  "message.expired": {
    summary: "No receipt came before the receipt deadline",
    data: "The message with `status: expired`",
  },
  "inbound.received": {
    summary: "Someone sent you an SMS or WeChat message",
    data: "The inbound message (as `GET /v1/inbound/{id}` shows it)",
  },
  "opt_out.created": {
    summary: "A number opted out (a STOP reply, or your suppression)",
    data: "The opt-out (`phone`, `source`, `created_at`)",
  },
  "opt_out.removed": {
    summary: "A number opted back in",
    data: "The opt-out that was removed, with `removed_by` and `removed_at`",
  },
  "verification.approved": {
    summary: "A verification code was checked successfully",
    data: "The verification (as `POST /v1/verifications` returns it)",
  },
  "verification.expired": {
    summary: "A verification ended without a correct code",
    data: "The verification",
  },
  "budget.threshold": {
    summary: "The month's spending crossed a budget threshold",
    data: "`threshold` (80 or 100, once each a month), `month`, `limit`, `used`, `remaining`, `currency`",
  },
  "conversation.created": {
    summary: "A customer's message opened a service-desk conversation",
    data: "The move: `id`, `conversation_id`, `from_state: null`, `state`, `agent_id`, `skill`, `due_at`, `actor`, `reason`, `at`",
  },
  "conversation.assigned": {
    summary: "A desk conversation went to an agent",
    data: "The move, with `state: assigned` and the `agent_id`",
  },
  "conversation.resolved": {
    summary: "A desk conversation was resolved",
    data: "The move, with `state: resolved`",
  },
  "wechat.scan": {
    summary: "A WeChat user scanned one of your QR codes",
    data: "`app_id`, `openid`, `scene`, the QR code's id, whether the scan followed the account, and what the code's action did",
  },
};

const slug = (event: string) => event.replace(/[._]/g, "-");

/** Registers one webhook per event on the app's document. */
export function documentWebhooks(app: OpenAPIHono<AppEnv>): void {
  for (const event of WEBHOOK_EVENTS) {
    const { summary, data } = DATA[event];
    const body = z
      .object({
        id: z.string().openapi({
          example: "evt_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
          description: "Stable across retries",
        }),
        type: z.literal(event),
        created_at: z
          .string()
          .openapi({ format: "date-time", example: "2026-12-07T12:00:00.000Z" }),
        data: TYPED_DATA[event].openapi({ description: data }),
      })
      .openapi(`WebhookEvent_${slug(event).replace(/-/g, "_")}`);
    const example = DATA_EXAMPLES[event];
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: event,
      operationId: `webhook_${slug(event).replace(/-/g, "_")}`,
      tags: ["Webhooks"],
      // Your endpoint authenticates the request by its signature, not by a key.
      security: [],
      summary,
      description: `Sent to each endpoint subscribed to \`${event}\`. ${SIGNATURE_SCHEME}`,
      request: {
        headers: z.object({
          "relaybox-signature": z.string().openapi({
            description: "`t=<unix seconds>,v1=<hex hmac-sha256>`",
            example:
              "t=1765108800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
          }),
        }),
        body: {
          required: true,
          content: {
            "application/json": {
              schema: body,
              example: {
                id: "evt_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
                type: event,
                created_at: "2026-12-07T12:00:03.000Z",
                data: example,
              },
            },
          },
        },
      },
      responses: {
        200: { description: "Any 2xx acknowledges the event" },
        default: { description: "Anything else (or no answer in 10 s): retried with backoff" },
      },
    });
  }
}
