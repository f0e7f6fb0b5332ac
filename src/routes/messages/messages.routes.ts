import { createRoute, z } from "@hono/zod-openapi";
import { CHANNELS, MESSAGE_STATUSES, TEMPLATE_KINDS } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import type { MessageFilters } from "../../services/messaging/message-reads";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { problems } from "../openapi-helpers";
import { PreviewBody, SendMessageBody } from "./messages.schemas";

const MessageId = z.string().regex(/^msg_[0-9A-Z]{26}$/, "must be a message id (msg_…)");

/** What the list and the export filter messages by (`filtersOf` reads them). */
const MessageFilterQuery = {
  status: z.enum(MESSAGE_STATUSES).optional(),
  to: z.string().min(1).max(32).optional().openapi({
    description: "The recipient: E.164, or a national number of the account's home country",
  }),
  since: z.iso.datetime({ offset: true }).optional().openapi({
    description: "Created at or after (RFC 3339)",
  }),
  until: z.iso.datetime({ offset: true }).optional().openapi({
    description: "Created at or before (RFC 3339)",
  }),
};

/** The filters of a list or export query, as the service reads them. */
export function filtersOf(query: {
  status?: MessageFilters["status"];
  to?: string;
  since?: string;
  until?: string;
}): MessageFilters {
  return {
    status: query.status,
    to: query.to,
    since: query.since ? Date.parse(query.since) : undefined,
    until: query.until ? Date.parse(query.until) : undefined,
  };
}

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
const Currency = z.string().openapi({
  description: "The currency `cost` is in (ISO 4217): your account's when the message was priced",
  example: "USD",
});

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
      ...MessageFilterQuery,
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

export const exportMessages = createRoute({
  method: "get",
  path: "/v1/messages/export",
  operationId: "exportMessages",
  tags: ["Messages"],
  summary: "Export messages as CSV or NDJSON, streamed",
  description:
    "Every message the filters pass (the list's filters), newest first, streamed as it is read from the send log page by page, so an export of any size starts at once and never sits in memory. CSV: one header row, then one row per message; a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading `'` so that spreadsheets do not run it as a formula (numbers in E.164 in `to` and `from` are written as they are); `bom=true` starts the file with a UTF-8 byte order mark, for Excel. NDJSON: one message per line, as `GET /v1/messages` shows it.",
  security: bearerAuth,
  middleware: [requireScope("messages:read", "test-mode")] as const,
  request: {
    query: z.object({
      ...MessageFilterQuery,
      format: z.enum(["csv", "ndjson"]).default("csv"),
      bom: z.stringbool().default(false).openapi({
        description: "CSV only: start with a UTF-8 byte order mark, so that Excel reads UTF-8",
      }),
    }),
  },
  responses: {
    200: {
      description: "The messages, as an attachment (`Content-Disposition` names the file)",
      content: {
        "text/csv": { schema: z.string() },
        "application/x-ndjson": { schema: z.string() },
      },
    },
    ...problems(400, 401, 403, 429),
  },
});

export const redactMessageBody = createRoute({
  method: "delete",
  path: "/v1/messages/{id}/body",
  operationId: "redactMessageBody",
  tags: ["Messages"],
  summary: "Redact a message's body (erasure on request)",
  description:
    "The text becomes `[redacted]` (template variables and WeChat content are cleared too); the message, its status and its figures stay. Recorded in the audit log, without the text. Only for a message in a final status (delivered, undelivered, failed, canceled, expired): one still on its way needs its body, so that is a 409. Redacting again changes nothing.",
  security: bearerAuth,
  middleware: [requireScope("messages:send", "test-mode")] as const,
  request: { params: z.object({ id: MessageId }) },
  responses: {
    200: {
      description: "The message, its body redacted",
      content: { "application/json": { schema: MessageSchema } },
    },
    ...problems(400, 401, 403, 404, 409, 429),
  },
});
