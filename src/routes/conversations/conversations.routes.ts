import { createRoute, z } from "@hono/zod-openapi";
import { DESK_STATES } from "../../domain/desk";
import { CHANNELS } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { MessageText } from "../messages/messages.schemas";
import { jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const ConversationParams = z.object({
  id: z.string().regex(/^cnv_[0-9A-Z]{26}$/, "a conversation id: cnv_ and 26 characters"),
});

const Cursor = (prefixes: string) =>
  z
    .string()
    .regex(new RegExp(`^\\d{1,16}\\.(${prefixes})_[0-9A-Z]{26}$`), "a next_cursor this list gave")
    .optional()
    .openapi({ description: "The `next_cursor` of the page before" });

const Direction = z.enum(["inbound", "outbound"]);

export const ConversationSchema = z
  .object({
    id: z.string(),
    channel: z.enum(CHANNELS),
    counterpart: z.string().openapi({
      description: "The person: an E.164 number (SMS) or the follower's openid (WeChat)",
    }),
    contact_id: z.string().nullable().openapi({ description: "The contact bound to them, if any" }),
    last_message: z
      .object({ direction: Direction, body: z.string(), at: z.string() })
      .nullable()
      .openapi({ description: "The last message either way" }),
    last_activity_at: z.string(),
    unread_count: z.number().int().openapi({
      description:
        "Inbound messages since the conversation was last marked read (POST …/read) or answered",
    }),
    created_at: z.string(),
    desk_state: z.enum(DESK_STATES).openapi({
      description:
        "The service desk's state: bot, queued, assigned, pending, resolved, left_message",
    }),
    agent_id: z.string().nullable(),
    skill: z.string().nullable(),
    due_at: z.string().nullable().openapi({ description: "When a left message is due" }),
    satisfaction: z.number().int().nullable(),
  })
  .openapi("Conversation");

const ConversationDetailSchema = ConversationSchema.extend({
  service_window: z
    .object({ open: z.boolean(), expires_at: z.string().nullable() })
    .nullable()
    .openapi({
      description:
        "WeChat: the follower's customer-service window (replies are possible until expires_at); null for SMS",
    }),
}).openapi("ConversationDetail");

export const ThreadMessageSchema = z
  .object({
    id: z.string().openapi({
      description: "`inb_…` for an inbound message, `msg_…` for a sent one",
    }),
    direction: Direction,
    body: z.string(),
    status: z.string().nullable().openapi({
      description: "A sent message's status (as on GET /v1/messages/{id}); null for inbound",
    }),
    at: z.string().openapi({
      description: "When it was received (inbound) or accepted (outbound)",
    }),
  })
  .openapi("ConversationMessage");

export const ReplySchema = ThreadMessageSchema.extend({
  conversation_id: z.string(),
  channel: z.enum(CHANNELS),
  to: z.string(),
  segments: z.number().int().nullable(),
  cost: z.number(),
  currency: z.string(),
}).openapi("ConversationReply");

export const listConversations = createRoute({
  method: "get",
  path: "/v1/conversations",
  operationId: "listConversations",
  tags: ["Conversations"],
  summary: "Your conversations, the most recent activity first",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: {
    query: z.object({
      channel: z.enum(CHANNELS).optional(),
      desk_state: z
        .string()
        .regex(
          new RegExp(`^(${DESK_STATES.join("|")})(,(${DESK_STATES.join("|")}))*$`),
          `desk states separated by commas: ${DESK_STATES.join(", ")}`,
        )
        .optional()
        .openapi({ description: "Only these desk states, e.g. `queued,left_message`" }),
      agent_id: z
        .string()
        .regex(/^usr_[0-9A-Z]{26}$/, "a user id: usr_ and 26 characters")
        .optional()
        .openapi({ description: "Only this agent's conversations" }),
      since: z.iso.datetime({ offset: true }).optional().openapi({
        description: "Only conversations with activity at or after this time",
      }),
      cursor: Cursor("cnv"),
      limit: LimitQuery,
    }),
  },
  responses: {
    200: jsonResponse(listOf(ConversationSchema), "A page of conversations"),
    ...problems(400, 401, 403, 429),
  },
});

export const getConversation = createRoute({
  method: "get",
  path: "/v1/conversations/{id}",
  operationId: "getConversation",
  tags: ["Conversations"],
  summary: "One conversation",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: { params: ConversationParams },
  responses: {
    200: jsonResponse(ConversationDetailSchema, "The conversation"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const listConversationMessages = createRoute({
  method: "get",
  path: "/v1/conversations/{id}/messages",
  operationId: "listConversationMessages",
  tags: ["Conversations"],
  summary: "The conversation's messages both ways, oldest first",
  description:
    "The one list that reads forward, like a chat: the inbound messages and the messages sent to the counterpart on the conversation's channel, in the order they were received or accepted. Reading does not mark the conversation read: `POST /v1/conversations/{id}/read` does. A reply appears once the send log has it (within a moment of its 202); page on from the last `next_cursor` you got, or from the last item, to see what came since.",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: {
    params: ConversationParams,
    query: z.object({ cursor: Cursor("inb|msg"), limit: LimitQuery }),
  },
  responses: {
    200: jsonResponse(listOf(ThreadMessageSchema), "A page of the thread, oldest first"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const sendConversationMessage = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/messages",
  operationId: "sendConversationMessage",
  tags: ["Conversations"],
  summary: "Reply in a conversation",
  description:
    "SMS: a message to the counterpart through your routes, with every check of `POST /v1/messages`. WeChat: a customer-service text message through the app the follower last wrote to, only inside the window their interaction opened (48 hours after their message); outside it, a 422 saying the window is closed (send a template message with `POST /v1/messages` instead). The reply becomes the conversation's last message and marks it read (a test key's sandbox reply is only in the thread as test keys see it, and changes neither).",
  security: bearerAuth,
  middleware: [requireScope("conversations:write", "test-mode")] as const,
  request: {
    params: ConversationParams,
    headers: IdempotencyHeaders,
    body: jsonBody(z.object({ body: MessageText }).strict()),
  },
  responses: {
    202: jsonResponse(ReplySchema, "Accepted: queued for sending"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});

export const markConversationRead = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/read",
  operationId: "markConversationRead",
  tags: ["Conversations"],
  summary: "Mark a conversation read: its unread count goes back to 0",
  security: bearerAuth,
  middleware: [requireScope("conversations:write")] as const,
  request: { params: ConversationParams },
  responses: {
    200: jsonResponse(ConversationSchema, "The conversation, read"),
    ...problems(400, 401, 403, 404, 429),
  },
});
