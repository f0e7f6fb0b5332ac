import { createRoute, z } from "@hono/zod-openapi";
import { AUTO_REPLY_MATCHES, WECHAT_MODES } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { ActiveWindowSchema } from "../active-window";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problems, wholeList } from "../openapi-helpers";

const AppId = z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits");
const AppParams = z.object({ app_id: AppId });

export const WeChatAppSchema = z
  .object({
    app_id: z.string(),
    mode: z.enum(WECHAT_MODES),
    api_base_url: z.string().nullable(),
    token_endpoint: z.enum(["stable_token", "token"]),
    account_type: z.enum(["subscription", "service"]),
    verified: z.boolean(),
    webhook_url: z.string().openapi({ description: "Give this to WeChat as the server URL" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("WeChatApp");

export const putApp = createRoute({
  method: "post",
  path: "/v1/wechat/apps",
  operationId: "upsertWeChatApp",
  tags: ["WeChat"],
  summary: "Set up a WeChat Official Account (or replace its settings)",
  description:
    "The AppSecret, Token and EncodingAESKey are encrypted at rest and never returned. `mode` is the account's message encryption mode in WeChat's console; `api_base_url` (WeChat's API unless set) lets a fixed-IP egress proxy stand in front, as WeChat checks an IP allow-list.",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          app_id: AppId,
          app_secret: z.string().regex(/^[0-9a-f]{32}$/, "32 hex digits"),
          token: z
            .string()
            .regex(/^[A-Za-z0-9]{3,32}$/, "3–32 letters and digits, as WeChat's console allows"),
          encoding_aes_key: z
            .string()
            .regex(/^[A-Za-z0-9]{43}$/, "43 letters and digits, as WeChat's console makes it"),
          mode: z.enum(WECHAT_MODES),
          api_base_url: z.url().optional(),
          token_endpoint: z.enum(["stable_token", "token"]).optional(),
          account_type: z.enum(["subscription", "service"]).optional().openapi({
            description:
              "WeChat's account type (default service): a verified subscription account may mass-send once a day, a verified service account 4 times a calendar month",
          }),
          verified: z.boolean().optional().openapi({
            description: "Verified (认证) by WeChat (default false): mass sends need it",
          }),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(WeChatAppSchema, "Replaced"),
    201: jsonResponse(WeChatAppSchema, "Created"),
    ...problems(400, 401, 403, 413, 415, 422, 429),
    ...conflict("The app id belongs to another account"),
  },
});

export const listApps = createRoute({
  method: "get",
  path: "/v1/wechat/apps",
  operationId: "listWeChatApps",
  tags: ["WeChat"],
  summary: "Your WeChat Official Accounts",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: jsonResponse(wholeList(WeChatAppSchema), "Every account"),
    ...problems(401, 403, 429),
  },
});

export const getApp = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}",
  operationId: "getWeChatApp",
  tags: ["WeChat"],
  summary: "One account's settings (never its secrets)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(WeChatAppSchema, "The settings"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const deleteApp = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}",
  operationId: "deleteWeChatApp",
  tags: ["WeChat"],
  summary: "Remove an account: its webhook answers 404 from now on",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404, 429) },
});

const Reply = z.union([
  z.object({ type: z.literal("text"), content: z.string().min(1).max(2000) }).strict(),
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
              pic_url: z.url().optional(),
            })
            .strict(),
        )
        .min(1)
        .max(8),
    })
    .strict(),
  z
    .object({
      type: z.literal("query"),
      endpoint_id: z.string().regex(/^whk_[0-9A-Z]{26}$/, "a webhook endpoint id (whk_…)"),
    })
    .strict()
    .openapi({
      description:
        "Ask your endpoint: the message is POSTed to it (signed like webhooks) and its `200 {reply}` is the passive reply when it comes within 4.5 s, else a customer-service message; 204: no reply",
    }),
]);

export const AutoReplySchema = z
  .object({
    id: z.string(),
    match: z.enum(AUTO_REPLY_MATCHES),
    keyword: z.string().nullable(),
    reply: z.record(z.string(), z.unknown()),
    priority: z.number().int(),
    active_window: ActiveWindowSchema.nullable(),
    created_at: z.string(),
  })
  .openapi("AutoReply");

export const listAutoReplies = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/auto-replies",
  operationId: "listWeChatAutoReplies",
  tags: ["WeChat"],
  summary: "The account's auto-reply rules, in the order they are tried",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(wholeList(AutoReplySchema), "The rules"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const createAutoReply = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/auto-replies",
  operationId: "createWeChatAutoReply",
  tags: ["WeChat"],
  summary:
    "Add an auto-reply: a keyword (exact, prefix, contains), the subscribe welcome, or the default",
  description:
    'Texts are matched case-insensitively, by priority (lower first), exact before prefix before contains; other messages get the default rule; a follow gets the subscribe rule. The reply is a text or news (up to 8 articles), sent as WeChat\'s passive reply, or a keyword query (`{type: "query", endpoint_id}`) answered by one of your webhook endpoints.',
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    params: AppParams,
    body: jsonBody(
      z
        .object({
          match: z.enum(AUTO_REPLY_MATCHES),
          keyword: z.string().min(1).max(64).optional(),
          reply: Reply,
          priority: z.number().int().min(0).max(1000).optional(),
          active_window: ActiveWindowSchema.nullable().optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(AutoReplySchema, "Added"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});

export const deleteAutoReply = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/auto-replies/{id}",
  operationId: "deleteWeChatAutoReply",
  tags: ["WeChat"],
  summary: "Delete an auto-reply rule",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: AppParams.extend({ id: z.string().regex(/^arr_[0-9A-Z]{26}$/, "a rule id") }),
  },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 429) },
});

export const InboxItemSchema = z
  .object({
    id: z.string(),
    msg_type: z.string(),
    event: z.string().nullable(),
    event_key: z.string().nullable(),
    from_user: z.string(),
    to_user: z.string(),
    create_time: z.string(),
    fields: z.record(z.string(), z.string()),
    reply: z.record(z.string(), z.unknown()).nullable(),
    received_at: z.string(),
  })
  .openapi("WeChatInboxItem");

export const listInbox = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/inbox",
  operationId: "listWeChatInbox",
  tags: ["WeChat"],
  summary: "Messages and events WeChat delivered, once each, newest first",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: {
    params: AppParams,
    query: z.object({
      limit: LimitQuery,
      cursor: z
        .string()
        .regex(/^wxm_[0-9A-Z]{26}$/)
        .optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(InboxItemSchema), "A page of the inbox"),
    ...problems(400, 401, 403, 404, 429),
  },
});
