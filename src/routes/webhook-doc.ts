/**
 * The OpenAPI 3.1 `webhooks` of the document: every event a webhook endpoint can receive
 * (vocabulary.ts's WEBHOOK_EVENTS), its envelope `{id, type, created_at, data}` and the
 * `Relaybox-Signature` header with its scheme (DESIGN.md's Contracts, domain/webhook-signature.ts).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
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

const TYPED_DATA: Partial<Record<WebhookEvent, z.ZodType>> = {
  "message.sent": MessageEventData,
  "message.delivered": MessageEventData,
  "message.undelivered": MessageEventData,
  "message.failed": MessageEventData,
  "message.expired": MessageEventData,
  "inbound.received": InboundEventData,
};

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
const DATA_EXAMPLES: Partial<Record<WebhookEvent, Record<string, unknown>>> = {
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
};

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
  "opt_out.removed": { summary: "A number opted back in", data: "The opt-out that was removed" },
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
    data: "`threshold`, `used`, `limit`, `currency`, `month`",
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
    data: "`app_id`, `openid`, `scene`, the QR code's id and the contact it bound, if any",
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
        data: (TYPED_DATA[event] ?? z.record(z.string(), z.unknown())).openapi({
          description: data,
        }),
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
              ...(example
                ? {
                    example: {
                      id: "evt_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
                      type: event,
                      created_at: "2026-12-07T12:00:03.000Z",
                      data: example,
                    },
                  }
                : {}),
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
