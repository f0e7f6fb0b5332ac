import { createRoute, z } from "@hono/zod-openapi";
import { AGENT_STATUSES, DESK_STATES } from "../../domain/desk";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders } from "../common";
import { ReplySchema } from "../conversations/conversations.routes";
import { MessageText } from "../messages/messages.schemas";
import { jsonBody, jsonResponse, problems } from "../openapi-helpers";

const ConversationParams = z.object({
  id: z.string().regex(/^cnv_[0-9A-Z]{26}$/, "a conversation id: cnv_ and 26 characters"),
});
const UserId = z.string().regex(/^usr_[0-9A-Z]{26}$/, "a user id: usr_ and 26 characters");
const Skill = z.string().trim().min(1).max(50);

export const AgentSchema = z
  .object({
    user_id: z.string(),
    email: z.string(),
    role: z.string(),
    status: z.enum(AGENT_STATUSES),
    skills: z.array(z.string()),
    capacity: z.number().int().openapi({ description: "Open conversations at once" }),
    load: z.number().int().openapi({ description: "Conversations assigned or pending now" }),
    idle_since: z.string(),
    conversation_ids: z.array(z.string()),
  })
  .openapi("DeskAgent");

export const QueueSchema = z
  .object({
    skill: z.string().nullable().openapi({ description: "null: any agent" }),
    conversations: z.array(
      z.object({
        id: z.string(),
        channel: z.string(),
        queued_at: z.string(),
        expires_at: z.string().nullable(),
      }),
    ),
  })
  .openapi("DeskQueue");

export const DeskStateSchema = z
  .object({
    id: z.string(),
    desk_state: z.enum(DESK_STATES),
    agent_id: z.string().nullable(),
  })
  .openapi("DeskConversationState");

export const ConversationEventSchema = z
  .object({
    id: z.string(),
    type: z.enum(["state", "note", "satisfaction"]),
    from_state: z.string().nullable(),
    to_state: z.string().nullable(),
    agent_id: z.string().nullable(),
    actor: z.string(),
    detail: z.record(z.string(), z.unknown()),
    at: z.string(),
  })
  .openapi("ConversationEvent");

export const listAgents = createRoute({
  method: "get",
  path: "/v1/desk/agents",
  operationId: "listDeskAgents",
  tags: ["Desk"],
  summary: "The desk's agents with their status, skills, capacity and load",
  security: bearerAuth,
  middleware: [requireScope("desk:work")] as const,
  responses: {
    200: jsonResponse(z.object({ data: z.array(AgentSchema) }), "Every agent"),
    ...problems(401, 403, 429),
  },
});

export const updateAgent = createRoute({
  method: "patch",
  path: "/v1/desk/agents/{user_id}",
  operationId: "updateDeskAgent",
  tags: ["Desk"],
  summary: "Set an agent's status, skills or capacity (a user becomes an agent on first change)",
  description:
    "The user's role must hold `desk:work` (the agent role does), else 422. An agent may set its own status; skills, capacity and other agents need `desk:supervise`. A slot that opens (online, more capacity) takes the longest-waiting queued conversation at once.",
  security: bearerAuth,
  middleware: [requireScope("desk:work")] as const,
  request: {
    params: z.object({ user_id: UserId }),
    body: jsonBody(
      z
        .object({
          status: z.enum(AGENT_STATUSES).optional(),
          skills: z.array(Skill).max(20).optional(),
          capacity: z.number().int().min(0).max(100).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(AgentSchema, "The agent"),
    ...problems(400, 401, 403, 404, 415, 422, 429),
  },
});

export const listQueues = createRoute({
  method: "get",
  path: "/v1/desk/queues",
  operationId: "listDeskQueues",
  tags: ["Desk"],
  summary: "The queues, one per skill, the longest waiting first",
  security: bearerAuth,
  middleware: [requireScope("desk:supervise")] as const,
  responses: {
    200: jsonResponse(z.object({ data: z.array(QueueSchema) }), "The queues"),
    ...problems(401, 403, 429),
  },
});

const conversationAction = (
  path: string,
  operationId: string,
  summary: string,
  body: z.ZodType | null,
  description?: string,
) =>
  createRoute({
    method: "post",
    path: `/v1/conversations/{id}/${path}`,
    operationId,
    tags: ["Desk"],
    summary,
    ...(description ? { description } : {}),
    security: bearerAuth,
    middleware: [requireScope("desk:work")] as const,
    request: {
      params: ConversationParams,
      ...(body ? { body: jsonBody(body) } : {}),
    },
    responses: {
      200: jsonResponse(DeskStateSchema, "The conversation's desk state"),
      ...problems(400, 401, 403, 404, 409, 415, 429),
    },
  });

export const assignConversation = conversationAction(
  "assign",
  "assignConversation",
  "Take a conversation, or (with desk:supervise) give it to an agent",
  z.object({ agent_id: UserId.optional() }).strict(),
  "Without `agent_id`, the signed-in agent takes it. 409 when the agent is offline or at capacity, or the conversation cannot be assigned.",
);

export const transferConversation = conversationAction(
  "transfer",
  "transferConversation",
  "Transfer a conversation to another agent, or to the queue of a skill",
  z
    .object({ agent_id: UserId.optional(), skill: Skill.nullable().optional() })
    .strict()
    .refine((b) => (b.agent_id === undefined) !== (b.skill === undefined), {
      message: "give agent_id or skill (null: any agent), not both",
      path: ["agent_id"],
    }),
);

export const resolveConversation = conversationAction(
  "resolve",
  "resolveConversation",
  "Resolve a conversation: its agent's slot goes to the next queued one",
  null,
);

export const addNote = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/notes",
  operationId: "addConversationNote",
  tags: ["Desk"],
  summary: "An internal note (never sent to the customer)",
  security: bearerAuth,
  middleware: [requireScope("desk:work")] as const,
  request: {
    params: ConversationParams,
    body: jsonBody(z.object({ body: z.string().trim().min(1).max(4000) }).strict()),
  },
  responses: {
    201: jsonResponse(ConversationEventSchema, "The note"),
    ...problems(400, 401, 403, 404, 415, 429),
  },
});

export const listEvents = createRoute({
  method: "get",
  path: "/v1/conversations/{id}/events",
  operationId: "listConversationEvents",
  tags: ["Desk"],
  summary: "The conversation's desk events, oldest first: state moves, notes, satisfaction",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: { params: ConversationParams },
  responses: {
    200: jsonResponse(z.object({ data: z.array(ConversationEventSchema) }), "Up to 500 events"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const reply = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/reply",
  operationId: "replyAtDesk",
  tags: ["Desk"],
  summary: "An agent's reply through the conversation's channel",
  description:
    "SMS for an SMS conversation; for WeChat, a customer-service message while the follower's 48-hour window is open (its expiry is `service_window.expires_at` on the conversation). A closed window is a 422 whose detail suggests a template message (`POST /v1/messages` with `wechat.type: template`). An assigned conversation becomes `pending` (waiting for the customer); the reply shows live.",
  security: bearerAuth,
  middleware: [requireScope("desk:work", "test-mode")] as const,
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
