import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { ActiveWindowSchema } from "../active-window";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { jsonBody, jsonResponse, listOf, problems, wholeList } from "../openapi-helpers";

const RuleId = z.string().regex(/^arr_[0-9A-Z]{26}$/, "an auto-reply rule id (arr_…)");
const ReplySchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("text"), content: z.string().trim().min(1).max(1000) }).strict(),
    z
      .object({
        type: z.literal("template"),
        template_id: z.string().regex(/^tpl_[0-9A-Z]{26}$/, "a template id (tpl_…)"),
        variables: z.record(z.string(), z.string().max(500)).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal("query"),
        endpoint_id: z.string().regex(/^whk_[0-9A-Z]{26}$/, "a webhook endpoint id (whk_…)"),
      })
      .strict(),
  ])
  .openapi("SmsAutoReplyContent", {
    description:
      "A text, an approved template (with fixed variables), or a keyword query: the message is POSTed to your webhook endpoint (signed like webhooks) and its `200 {reply}` is sent back by SMS (204: no reply)",
  });

const Match = z.enum(["exact", "prefix", "contains"]);
const Keyword = z.string().trim().min(1).max(64);
const Priority = z.number().int().min(0).max(1000);

export const SmsAutoReplySchema = z
  .object({
    id: z.string(),
    match: Match,
    keyword: z.string(),
    reply: ReplySchema,
    priority: z.number().int(),
    active_window: ActiveWindowSchema.nullable(),
    created_at: z.string(),
  })
  .openapi("SmsAutoReply");

export const listAutoReplies = createRoute({
  method: "get",
  path: "/v1/auto-replies",
  operationId: "listAutoReplies",
  tags: ["Inbound"],
  summary: "The SMS keyword auto-replies, in the order they are tried",
  security: bearerAuth,
  middleware: [requireScope("content:read")] as const,
  responses: {
    200: jsonResponse(wholeList(SmsAutoReplySchema), "By priority (lower first)"),
    ...problems(401, 403, 429),
  },
});

export const getAutoReply = createRoute({
  method: "get",
  path: "/v1/auto-replies/{id}",
  operationId: "getAutoReply",
  tags: ["Inbound"],
  summary: "Get an SMS auto-reply rule",
  security: bearerAuth,
  middleware: [requireScope("content:read")] as const,
  request: { params: z.object({ id: RuleId }) },
  responses: {
    200: jsonResponse(SmsAutoReplySchema, "The rule"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const createAutoReply = createRoute({
  method: "post",
  path: "/v1/auto-replies",
  operationId: "createAutoReply",
  tags: ["Inbound"],
  summary: "Add an SMS keyword auto-reply",
  description:
    "An inbound SMS is matched case-insensitively with surrounding spaces ignored, by priority (lower first), exact before prefix before contains; opt-out keywords come first and get no auto-reply. At most one reply per inbound message, and at most 3 automatic replies an hour to one number. A reply routed only to Aliyun or Tencent needs a template with their code; without one it is skipped and the inbound message says why.",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          match: Match,
          keyword: Keyword,
          reply: ReplySchema,
          priority: Priority.optional(),
          active_window: ActiveWindowSchema.nullable().optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(SmsAutoReplySchema, "Added"),
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
});

export const updateAutoReply = createRoute({
  method: "patch",
  path: "/v1/auto-replies/{id}",
  operationId: "updateAutoReply",
  tags: ["Inbound"],
  summary: "Change an SMS auto-reply rule",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: {
    params: z.object({ id: RuleId }),
    body: jsonBody(
      z
        .object({
          match: Match.optional(),
          keyword: Keyword.optional(),
          reply: ReplySchema.optional(),
          priority: Priority.optional(),
          active_window: ActiveWindowSchema.nullable().optional(),
        })
        .strict()
        .refine((body) => Object.keys(body).length > 0, { message: "send at least one field" })
        .openapi({ minProperties: 1 }),
    ),
  },
  responses: {
    200: jsonResponse(SmsAutoReplySchema, "The rule as changed"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});

export const deleteAutoReply = createRoute({
  method: "delete",
  path: "/v1/auto-replies/{id}",
  operationId: "deleteAutoReply",
  tags: ["Inbound"],
  summary: "Delete an SMS auto-reply rule",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: { params: z.object({ id: RuleId }) },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 429) },
});

export const KeywordQuerySchema = z
  .object({
    id: z.string().openapi({ description: "qry_…, the id your endpoint got in the request" }),
    rule_id: z.string(),
    channel: z.enum(["sms", "wechat"]),
    app_id: z.string().nullable(),
    endpoint_id: z.string(),
    status: z.enum(["answered", "no_reply", "late", "failed"]).openapi({
      description:
        "answered: a reply in time; no_reply: 204 or an empty reply; late: a reply after WeChat's 4.5 s, sent as a customer-service message instead of the passive reply; failed: see reason",
    }),
    latency_ms: z.number().int().openapi({ description: "From the request to your answer" }),
    reason: z.string().nullable(),
    asked_at: z.string(),
  })
  .openapi("KeywordQuery");

export const listRuleQueries = createRoute({
  method: "get",
  path: "/v1/auto-replies/{id}/queries",
  operationId: "listAutoReplyQueries",
  tags: ["Inbound"],
  summary: "The keyword queries a rule asked of your endpoint (SMS or WeChat rules), newest first",
  security: bearerAuth,
  middleware: [requireScope("content:read")] as const,
  request: {
    params: z.object({ id: RuleId }),
    query: z.object({ limit: LimitQuery, cursor: z.string().optional() }),
  },
  responses: {
    200: jsonResponse(listOf(KeywordQuerySchema), "A page"),
    ...problems(400, 401, 403, 404, 429),
  },
});
