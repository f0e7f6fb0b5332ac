import { createRoute, z } from "@hono/zod-openapi";
import {
  CONTROL_CHARACTER_RULE,
  hasControlCharacter,
  isWellFormedText,
} from "../../domain/templates";
import { CHANNELS, MESSAGE_STATUSES, TEMPLATE_KINDS } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery, problems } from "../common";

const MessageId = z.string().regex(/^msg_[0-9A-Z]{26}$/, "must be a message id (msg_…)");

export const TemplateId = z
  .string()
  .regex(/^tpl_[0-9A-Z]{26}$/, "must be a template id (tpl_…)")
  .openapi({ example: "tpl_01JD3M6Y8Z5Q7K2N4P6R8T0V2X" });

// Values are checked against the template's declarations when the message is composed, so that
// every missing, extra, mistyped or too long one is a 422 naming it.
export const Variables = z
  .record(z.string(), z.unknown())
  .refine((v) => Object.keys(v).length <= 100, "at most 100 variables")
  .openapi({ description: "Values for the template's variables", example: { code: "123456" } });

/** A free text: no control characters but those GSM 03.38 has, and no lone surrogate. */
export const MessageText = z
  .string()
  .min(1)
  .max(1600)
  .refine((text) => !hasControlCharacter(text), CONTROL_CHARACTER_RULE)
  .refine(isWellFormedText, "must be well-formed text (no lone surrogate)");

const Body = MessageText.openapi({ example: "Your code is 123456" });
const SmartEncoding = z.boolean().optional().openapi({
  description:
    "Replace look-alike characters (curly quotes, long dashes, no-break spaces…) with their GSM-7 twins when that keeps the whole text GSM-7",
});

/** Exactly one of a free `body` or a `template_id` (with its `variables`). */
export function requireOneContent(
  value: { body?: string; template_id?: string; variables?: unknown },
  ctx: z.RefinementCtx,
): void {
  if ((value.body === undefined) === (value.template_id === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["body"],
      message: "give either body or template_id (with variables), not both or neither",
    });
  }
  if (value.variables !== undefined && value.template_id === undefined) {
    ctx.addIssue({ code: "custom", path: ["variables"], message: "variables need a template_id" });
  }
}

export const SendAt = z.iso.datetime({ offset: true }).openapi({
  description: "When to send: any future time up to 35 days ahead (RFC 3339). Omit to send now.",
  example: "2026-12-01T09:30:00+08:00",
});

const WeChatData = z.record(
  z.string().min(1).max(32),
  z.object({ value: z.string().max(200), color: z.string().max(16).optional() }).strict(),
);

export const WeChatContentSchema = z
  .discriminatedUnion("type", [
    z
      .object({
        type: z.literal("template"),
        wechat_template_id: z.string().min(1).max(64).openapi({
          description: "The template's id in the WeChat account (not one of ours)",
        }),
        data: WeChatData,
        url: z.url().optional(),
        miniprogram: z
          .object({ appid: z.string().min(1).max(32), pagepath: z.string().max(256).optional() })
          .strict()
          .optional(),
      })
      .strict(),
    z.object({ type: z.literal("text"), content: z.string().min(1).max(2000) }).strict(),
    z.object({ type: z.literal("image"), media_id: z.string().min(1).max(128) }).strict(),
    z
      .object({
        type: z.literal("news"),
        articles: z
          .array(
            z
              .object({
                title: z.string().min(1).max(64),
                description: z.string().max(120).optional(),
                url: z.url(),
                picurl: z.url().optional(),
              })
              .strict(),
          )
          .length(1),
      })
      .strict(),
  ])
  .openapi("WeChatContent", {
    description:
      "A template message, or a customer-service message (text, image, one news article) inside the 48-hour window opened by the follower's last message, menu click, follow or scan",
  });

export const SendMessageBody = z
  .object({
    channel: z.enum(["sms", "wechat", "auto"]).optional().openapi({
      description:
        "sms unless given; auto: WeChat to a contact bound and following, else (or if WeChat refuses it) SMS to the contact's phone",
    }),
    to: z.string().min(1).max(32).optional().openapi({
      description: "SMS: E.164, or a national number of the account's home country",
      example: "+8613800138000",
    }),
    body: Body.optional(),
    template_id: TemplateId.optional(),
    variables: Variables.optional(),
    from: z.string().min(1).max(20).optional().openapi({ description: "Sender id or number" }),
    app_id: z
      .string()
      .regex(/^wx[0-9a-f]{16}$/, "a WeChat app id")
      .optional()
      .openapi({ description: "WeChat: the Official Account that sends" }),
    openid: z.string().min(1).max(64).optional().openapi({ description: "WeChat: the follower" }),
    contact: z.string().min(1).max(128).optional().openapi({
      description: "WeChat: a contact's external_id, sent to its binding in the account",
    }),
    wechat: WeChatContentSchema.optional(),
    sms: z
      .object({
        body: Body.optional(),
        template_id: TemplateId.optional(),
        variables: Variables.optional(),
        smart_encoding: SmartEncoding,
      })
      .strict()
      .superRefine(requireOneContent)
      .optional()
      .openapi({ description: "auto: the SMS part (a body, or a template with its variables)" }),
    metadata: z
      .record(z.string().max(40), z.string().max(500))
      .refine((m) => Object.keys(m).length <= 20, "at most 20 keys")
      .optional()
      .openapi({ description: "Your own key-value pairs, returned with the message" }),
    send_at: SendAt.optional(),
    smart_encoding: SmartEncoding,
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.channel === "auto") {
      for (const field of [
        "to",
        "body",
        "template_id",
        "variables",
        "from",
        "openid",
        "smart_encoding",
      ] as const) {
        if (value[field] !== undefined) {
          ctx.addIssue({ code: "custom", path: [field], message: "not for channel auto" });
        }
      }
      for (const field of ["contact", "app_id", "wechat", "sms"] as const) {
        if (value[field] === undefined) {
          ctx.addIssue({ code: "custom", path: [field], message: "required for channel auto" });
        }
      }
      return;
    }
    if (value.sms !== undefined) {
      ctx.addIssue({ code: "custom", path: ["sms"], message: "only for channel auto" });
    }
    if (value.channel === "wechat") {
      for (const field of [
        "to",
        "body",
        "template_id",
        "variables",
        "from",
        "smart_encoding",
      ] as const) {
        if (value[field] !== undefined) {
          ctx.addIssue({ code: "custom", path: [field], message: "not for a WeChat message" });
        }
      }
      for (const field of ["app_id", "wechat"] as const) {
        if (value[field] === undefined) {
          ctx.addIssue({ code: "custom", path: [field], message: "required for a WeChat message" });
        }
      }
      if ((value.openid === undefined) === (value.contact === undefined)) {
        ctx.addIssue({
          code: "custom",
          path: ["openid"],
          message: "give either openid or contact",
        });
      }
      return;
    }
    for (const field of ["app_id", "openid", "contact", "wechat"] as const) {
      if (value[field] !== undefined) {
        ctx.addIssue({ code: "custom", path: [field], message: "only for channel wechat" });
      }
    }
    if (value.to === undefined) {
      ctx.addIssue({ code: "custom", path: ["to"], message: "required" });
    }
    requireOneContent(value, ctx);
  })
  .openapi("SendMessage");

export const PreviewBody = z
  .object({
    to: z.string().min(1).max(32).optional().openapi({
      description: "The recipient; without it, the account's home country is assumed",
    }),
    body: Body.optional(),
    template_id: TemplateId.optional(),
    variables: Variables.optional(),
    smart_encoding: SmartEncoding,
  })
  .strict()
  .superRefine(requireOneContent)
  .openapi("PreviewMessage");

const HitSchema = z
  .object({
    word: z.string(),
    category: z.string().nullable(),
    policy: z.enum(["block", "review", "mask"]),
    start: z.number().int().openapi({
      description:
        "UTF-16 offset of the hit in `text` as screened: after smart encoding and the signature, before masking (a masked astral character becomes one `*`)",
    }),
    end: z.number().int(),
    source: z.enum(["default", "tenant"]),
  })
  .openapi("SensitiveHit");

/** Money as every message view returns it. */
const Cost = z.number().openapi({
  description:
    "What the message costs, in units of `currency` (0.0065 is 0.65 US cents): a JSON number with at most 6 decimals, counted exactly in millionths. Segments × your price for the country (`GET /v1/tenant` `prices`, decimal strings), else the list price for USD accounts, else 0. WeChat messages cost 0",
  example: 0.0065,
});
const Currency = z
  .string()
  .openapi({ description: "Your account's currency (ISO 4217)", example: "USD" });

/** SMS figures; a WeChat message has no SMS segments, so both are null for it. */
const Segments = z.number().int().nullable().openapi({
  description: "SMS segments (parts) the text takes; null for a WeChat message",
});
const Encoding = z.enum(["GSM-7", "UCS-2"]).nullable().openapi({
  description: "GSM-7, or UCS-2 when a character is outside GSM 03.38; null for a WeChat message",
});

const SendAtShown = z.string().openapi({
  description:
    "When the message was due to go: the `send_at` asked for, else when it was accepted. While it is held for quiet hours (`status_reason: quiet_hours`) before reaching the send log, the end of the window",
});

export const PreviewSchema = z
  .object({
    text: z.string().openapi({ description: "Exactly what would be sent, signature included" }),
    encoding: z.enum(["GSM-7", "UCS-2"]),
    characters: z.number().int(),
    segments: z.number().int(),
    cost: Cost,
    currency: Currency,
    hits: z.array(HitSchema),
  })
  .openapi("Preview");

export const AcceptedSchema = z
  .object({
    id: z.string(),
    status: z.enum(["queued", "scheduled"]),
    to: z.string(),
    segments: Segments,
    encoding: Encoding,
    cost: Cost,
    currency: Currency,
    send_at: z.string().openapi({
      description:
        "When it will go: the `send_at` asked for, else now; for marketing held for quiet hours, the end of the window",
    }),
    created_at: z.string(),
  })
  .openapi("AcceptedMessage");

const AttemptSchema = z.object({
  attempt: z.number().int(),
  provider: z.string(),
  outcome: z.enum(["sent", "retryable", "permanent", "unknown"]),
  reason: z.string().nullable(),
  provider_message_id: z.string().nullable(),
  latency_ms: z.number().int(),
  created_at: z.string(),
});

export const MessageSchema = z
  .object({
    id: z.string(),
    channel: z.enum(CHANNELS),
    status: z.enum(MESSAGE_STATUSES),
    status_reason: z.string().nullable(),
    to: z.string(),
    from: z.string().nullable(),
    body: z.string(),
    metadata: z.record(z.string(), z.string()).nullable(),
    mode: z.enum(["live", "test"]),
    segments: Segments,
    encoding: Encoding,
    kind: z.enum(TEMPLATE_KINDS),
    template_id: z.string().nullable(),
    template_version: z.number().int().nullable(),
    batch_id: z.string().nullable(),
    cost: Cost,
    currency: Currency,
    provider: z.string().nullable().openapi({
      description:
        "The provider that took the message (sandbox, twilio, aliyun, tencent, wechat); null until one has. Every provider tried is in `attempts`",
    }),
    provider_message_id: z.string().nullable(),
    send_at: SendAtShown,
    created_at: z.string(),
    updated_at: z.string(),
    sent_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    attempts: z.array(AttemptSchema).optional(),
  })
  .openapi("Message");

export const sendMessage = createRoute({
  method: "post",
  path: "/v1/messages",
  operationId: "createMessage",
  tags: ["Messages"],
  summary: "Send a message",
  description:
    "An SMS (`to` with a `body` or an approved `template_id`), a WeChat message (`channel: wechat`), or either by the best channel for a contact (`channel: auto`). A free `body` is sent as a notification: marketing (with its opt-out line and quiet hours) comes only from an approved template of kind `marketing`.",
  security: bearerAuth,
  middleware: [requireScope("messages:send", "test-mode")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: SendMessageBody } } },
  },
  responses: {
    202: {
      description: "Accepted: durably queued for sending",
      content: { "application/json": { schema: AcceptedSchema } },
    },
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
});

export const getMessage = createRoute({
  method: "get",
  path: "/v1/messages/{id}",
  operationId: "getMessage",
  tags: ["Messages"],
  summary: "Read one message with its attempts",
  security: bearerAuth,
  middleware: [requireScope("messages:read", "test-mode")] as const,
  request: { params: z.object({ id: MessageId }) },
  responses: {
    200: { description: "The message", content: { "application/json": { schema: MessageSchema } } },
    ...problems(400, 401, 403, 404, 429),
  },
});

export const listMessages = createRoute({
  method: "get",
  path: "/v1/messages",
  operationId: "listMessages",
  tags: ["Messages"],
  summary: "List messages, newest first",
  security: bearerAuth,
  middleware: [requireScope("messages:read", "test-mode")] as const,
  request: {
    query: z.object({
      status: z.enum(MESSAGE_STATUSES).optional(),
      to: z.string().min(1).max(32).optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      limit: LimitQuery,
      cursor: MessageId.optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of messages",
      content: {
        "application/json": {
          schema: z.object({ data: z.array(MessageSchema), next_cursor: z.string().nullable() }),
        },
      },
    },
    ...problems(400, 401, 403, 429),
  },
});

export const previewMessage = createRoute({
  method: "post",
  path: "/v1/messages/preview",
  operationId: "previewMessage",
  tags: ["Messages"],
  summary: "What a message would be: text, encoding, segments, cost and sensitive words",
  security: bearerAuth,
  middleware: [requireScope("messages:send", "query")] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: PreviewBody } } },
  },
  responses: {
    200: {
      description: "The message as it would be sent (nothing is sent)",
      content: { "application/json": { schema: PreviewSchema } },
    },
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
});

export const cancelMessage = createRoute({
  method: "post",
  path: "/v1/messages/{id}/cancel",
  operationId: "cancelMessage",
  tags: ["Messages"],
  summary: "Cancel a scheduled or queued message",
  security: bearerAuth,
  middleware: [requireScope("messages:send", "test-mode")] as const,
  request: { params: z.object({ id: MessageId }) },
  responses: {
    200: {
      description: "The canceled message",
      content: { "application/json": { schema: MessageSchema } },
    },
    ...problems(400, 401, 403, 404, 409, 429),
  },
});
