import { createRoute, z } from "@hono/zod-openapi";
import { MESSAGE_STATUSES } from "../../db/schema";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery, problems } from "../common";

const MessageId = z.string().regex(/^msg_[0-9A-Z]{26}$/, "must be a message id (msg_…)");

export const SendMessageBody = z
  .object({
    to: z.string().min(1).max(32).openapi({
      description: "E.164, or a national number of the account's home country",
      example: "+8613800138000",
    }),
    body: z.string().min(1).max(1600).openapi({ example: "Your code is 123456" }),
    from: z.string().min(1).max(20).optional().openapi({ description: "Sender id or number" }),
    metadata: z
      .record(z.string().max(40), z.string().max(500))
      .refine((m) => Object.keys(m).length <= 20, "at most 20 keys")
      .optional()
      .openapi({ description: "Your own key-value pairs, returned with the message" }),
  })
  .strict()
  .openapi("SendMessage");

export const AcceptedSchema = z
  .object({
    id: z.string(),
    status: z.enum(["queued", "scheduled"]),
    to: z.string(),
    segments: z.number().int(),
    encoding: z.enum(["GSM-7", "UCS-2"]),
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
    channel: z.literal("sms"),
    status: z.enum(MESSAGE_STATUSES),
    status_reason: z.string().nullable(),
    to: z.string(),
    from: z.string().nullable(),
    body: z.string(),
    metadata: z.record(z.string(), z.string()).nullable(),
    mode: z.enum(["live", "test"]),
    segments: z.number().int(),
    encoding: z.enum(["GSM-7", "UCS-2"]),
    provider: z.string().nullable(),
    provider_message_id: z.string().nullable(),
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
  tags: ["Messages"],
  summary: "Send an SMS",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
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
  tags: ["Messages"],
  summary: "Read one message with its attempts",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: { params: z.object({ id: MessageId }) },
  responses: {
    200: { description: "The message", content: { "application/json": { schema: MessageSchema } } },
    ...problems(400, 401, 403, 404, 429),
  },
});

export const listMessages = createRoute({
  method: "get",
  path: "/v1/messages",
  tags: ["Messages"],
  summary: "List messages, newest first",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
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
