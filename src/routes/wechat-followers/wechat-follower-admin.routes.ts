import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonBody, jsonResponse, problems } from "../openapi-helpers";
import { AppParams, Openid, TagParams, unavailable } from "./wechat-followers.routes";

const TagName = z.string().trim().min(1).max(30);

export const renameTag = createRoute({
  method: "patch",
  path: "/v1/wechat/apps/{app_id}/tags/{tag_id}",
  operationId: "updateWeChatTag",
  tags: ["WeChat"],
  summary: "Rename a tag (WeChat's own tags 0–2 cannot be; a name in use is WeChat's 422)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: TagParams, body: jsonBody(z.object({ name: TagName }).strict()) },
  responses: {
    200: jsonResponse(z.object({ id: z.number().int(), name: z.string() }), "Renamed"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

export const deleteTag = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/tags/{tag_id}",
  operationId: "deleteWeChatTag",
  tags: ["WeChat"],
  summary: "Delete a tag at WeChat and take it off the followers table",
  description:
    "WeChat refuses to delete a tag of more than 100,000 followers (errcode 45057, a 422): untag some first.",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: TagParams },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});

export const setRemark = createRoute({
  method: "put",
  path: "/v1/wechat/apps/{app_id}/followers/{openid}/remark",
  operationId: "setWeChatFollowerRemark",
  tags: ["WeChat"],
  summary: "Set a follower's remark (WeChat's user/info/updateremark)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: AppParams.extend({ openid: Openid }),
    body: jsonBody(
      z
        .object({
          remark: z
            .string()
            .max(29)
            .openapi({ description: "Under 30 characters; empty clears it" }),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(z.object({ openid: z.string(), remark: z.string() }), "Set"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

const BlacklistBody = z
  .object({
    openids: z.array(Openid).min(1).max(1000).openapi({
      description: "1–1000 openids; sent to WeChat 20 at a time",
    }),
  })
  .strict();

const blacklistResponses = {
  200: jsonResponse(
    z.object({
      openids: z.number().int().openapi({ description: "Distinct openids sent" }),
      batches: z.number().int().openapi({ description: "Calls to WeChat (20 openids each)" }),
    }),
    "Done at WeChat",
  ),
  ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  ...unavailable,
};

export const addToBlacklist = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/blacklist",
  operationId: "addWeChatBlacklist",
  tags: ["WeChat"],
  summary: "Blacklist users (20 per WeChat call); sending the same list again is harmless",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams, body: jsonBody(BlacklistBody) },
  responses: blacklistResponses,
});

export const removeFromBlacklist = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/blacklist",
  operationId: "removeWeChatBlacklist",
  tags: ["WeChat"],
  summary: "Take users off the blacklist (20 per WeChat call)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams, body: jsonBody(BlacklistBody) },
  responses: blacklistResponses,
});

export const listBlacklist = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/blacklist",
  operationId: "listWeChatBlacklist",
  tags: ["WeChat"],
  summary: "The blacklist as WeChat has it, 10,000 openids a page",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: AppParams,
    query: z.object({
      cursor: Openid.optional().openapi({ description: "The last page's next_cursor" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({
        data: z.array(z.string()),
        total: z.number().int(),
        next_cursor: z.string().nullable(),
      }),
      "A page of blacklisted openids",
    ),
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});

export const jssdkConfig = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/jssdk-config",
  operationId: "getWeChatJssdkConfig",
  tags: ["WeChat"],
  summary: "The signed JS-SDK config (wx.config) for one page of your site",
  description:
    "Signs `url` (without its #fragment) with the account's jsapi_ticket, which the platform keeps and refreshes one at a time; pass them to wx.config as appId (`app_id`), timestamp, nonceStr (`nonce_str`) and signature. The page's domain must be a JS-SDK safe domain in WeChat's console.",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: {
    params: AppParams,
    query: z.object({
      url: z
        .url({ protocol: /^https?$/ })
        .max(2048)
        .openapi({ description: "The page's full URL, as location.href.split('#')[0] gives it" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          app_id: z.string(),
          timestamp: z.number().int(),
          nonce_str: z.string(),
          signature: z.string(),
          url: z.string().openapi({ description: "The URL signed" }),
        })
        .openapi("WeChatJssdkConfig"),
      "The config",
    ),
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});
