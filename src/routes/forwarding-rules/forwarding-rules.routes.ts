import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders } from "../common";
import { jsonBody, jsonResponse, problems, wholeList } from "../openapi-helpers";

const RuleId = z.string().regex(/^fwd_[0-9A-Z]{26}$/, "a forwarding rule id (fwd_…)");
const Match = z
  .enum(["all", "exact", "prefix", "contains"])
  .openapi({ description: "`all`, or how `keyword` is matched (as the auto-replies match)" });
const TargetType = z.enum(["phone", "webhook"]);
const Target = z.string().trim().min(1).max(64).openapi({
  description: "An E.164 number for `phone`; one of your webhook endpoints' ids for `webhook`",
});
const Keyword = z.string().trim().min(1).max(64);

export const ForwardingRuleSchema = z
  .object({
    id: z.string(),
    match: Match,
    keyword: z.string().nullable(),
    target_type: TargetType,
    target: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("ForwardingRule");

export const listForwardingRules = createRoute({
  method: "get",
  path: "/v1/forwarding-rules",
  operationId: "listForwardingRules",
  tags: ["Inbound"],
  summary: "The forwarding rules, newest first",
  security: bearerAuth,
  middleware: [requireScope("content:read")] as const,
  responses: {
    200: jsonResponse(wholeList(ForwardingRuleSchema), "Every rule"),
    ...problems(401, 403, 429),
  },
});

export const getForwardingRule = createRoute({
  method: "get",
  path: "/v1/forwarding-rules/{id}",
  operationId: "getForwardingRule",
  tags: ["Inbound"],
  summary: "Get a forwarding rule",
  security: bearerAuth,
  middleware: [requireScope("content:read")] as const,
  request: { params: z.object({ id: RuleId }) },
  responses: {
    200: jsonResponse(ForwardingRuleSchema, "The rule"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const createForwardingRule = createRoute({
  method: "post",
  path: "/v1/forwarding-rules",
  operationId: "createForwardingRule",
  tags: ["Inbound"],
  summary: "Copy matching inbound messages to a phone or a webhook endpoint",
  description:
    "Every matching rule copies the message once: a phone gets an SMS `[from <number>] <text>` through your route; an endpoint gets the `inbound.received` event, even if it is not subscribed to it. Messages that are opt-out keywords are not forwarded.",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          match: Match,
          keyword: Keyword.optional(),
          target_type: TargetType,
          target: Target,
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(ForwardingRuleSchema, "Added"),
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
});

export const updateForwardingRule = createRoute({
  method: "patch",
  path: "/v1/forwarding-rules/{id}",
  operationId: "updateForwardingRule",
  tags: ["Inbound"],
  summary: "Change a forwarding rule",
  description: "A new `target_type` comes with its `target`.",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: {
    params: z.object({ id: RuleId }),
    body: jsonBody(
      z
        .object({
          match: Match.optional(),
          keyword: Keyword.nullable().optional(),
          target_type: TargetType.optional(),
          target: Target.optional(),
        })
        .strict()
        .refine((body) => Object.keys(body).length > 0, { message: "send at least one field" })
        .openapi({ minProperties: 1 }),
    ),
  },
  responses: {
    200: jsonResponse(ForwardingRuleSchema, "The rule as changed"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});

export const deleteForwardingRule = createRoute({
  method: "delete",
  path: "/v1/forwarding-rules/{id}",
  operationId: "deleteForwardingRule",
  tags: ["Inbound"],
  summary: "Delete a forwarding rule",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: { params: z.object({ id: RuleId }) },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 429) },
});
