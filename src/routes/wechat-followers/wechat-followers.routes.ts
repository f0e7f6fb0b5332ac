import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { jsonBody, jsonResponse, listOf, problem, problems, wholeList } from "../openapi-helpers";

const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});

const TagParams = AppParams.extend({
  tag_id: z.coerce.number().int().min(0).openapi({ description: "WeChat's tag id" }),
});

const Openid = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an openid");

const MembersBody = z
  .object({
    openids: z.array(Openid).min(1).max(1000).openapi({
      description: "1–1000 openids; sent to WeChat 50 at a time",
    }),
  })
  .strict();

const FollowerSchema = z
  .object({
    openid: z.string(),
    following: z.boolean(),
    tag_ids: z.array(z.number().int()),
    info: z.record(z.string(), z.unknown()).nullable().openapi({
      description: "WeChat's user info as of the last sync (subscribe_time, remark, tagid_list…)",
    }),
    last_interaction_at: z.string().nullable(),
    subscribed_at: z.string().nullable(),
    unsubscribed_at: z.string().nullable(),
  })
  .openapi("WeChatFollower");

const TagSchema = z
  .object({ id: z.number().int(), name: z.string(), count: z.number().int() })
  .openapi("WeChatTag");

const unavailable = problem(
  503,
  "WeChat (or the app's token) could not be reached; trying again is safe",
);

export const syncFollowers = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/followers/sync",
  operationId: "syncWeChatFollowers",
  tags: ["WeChat"],
  summary: "Rebuild the followers table from WeChat's follower list",
  description:
    "Pages through WeChat's follower list, fetches user info 100 at a time and updates the table; followers no longer listed are marked unfollowed. Runs within this request, which suits accounts of up to a few tens of thousands of followers. A failure part-way keeps what was written and marks nothing unfollowed: run it again.",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(
      z.object({
        followers: z.number().int().openapi({ description: "Users WeChat listed" }),
        pages: z.number().int().openapi({ description: "Calls to WeChat's follower list" }),
        info_batches: z.number().int().openapi({ description: "Calls for user info" }),
      }),
      "Synced",
    ),
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});

export const listFollowers = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/followers",
  operationId: "listWeChatFollowers",
  tags: ["WeChat"],
  summary: "The account's followers, as the webhook and the last sync left them, in openid order",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: {
    params: AppParams,
    query: z.object({
      following: z
        .enum(["true", "false"])
        .transform((value) => value === "true")
        .optional(),
      tag_id: z.coerce.number().int().min(0).optional(),
      limit: LimitQuery,
      cursor: Openid.optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(FollowerSchema), "A page of followers"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const listTags = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/tags",
  operationId: "listWeChatTags",
  tags: ["WeChat"],
  summary: "The account's tags, as WeChat has them",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(wholeList(TagSchema), "The tags"),
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});

export const createTag = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/tags",
  operationId: "createWeChatTag",
  tags: ["WeChat"],
  summary: "Create a tag (WeChat refuses a name already in use with a 422)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    params: AppParams,
    body: jsonBody(z.object({ name: z.string().trim().min(1).max(30) }).strict()),
  },
  responses: {
    201: jsonResponse(z.object({ id: z.number().int(), name: z.string() }), "Created"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

const membersResponses = {
  200: jsonResponse(
    z.object({
      tag_id: z.number().int(),
      openids: z.number().int().openapi({ description: "Distinct openids sent" }),
      batches: z.number().int().openapi({ description: "Calls to WeChat (50 openids each)" }),
    }),
    "Done at WeChat and in the followers table",
  ),
  ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  ...unavailable,
};

const membersRequest = {
  params: TagParams,
  body: jsonBody(MembersBody),
};

export const tagMembers = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/tags/{tag_id}/members",
  operationId: "addWeChatTagMembers",
  tags: ["WeChat"],
  summary: "Tag users (50 per WeChat call); sending the same list again is harmless",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: membersRequest,
  responses: membersResponses,
});

export const untagMembers = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/tags/{tag_id}/members",
  operationId: "removeWeChatTagMembers",
  tags: ["WeChat"],
  summary: "Untag users (50 per WeChat call); sending the same list again is harmless",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: membersRequest,
  responses: membersResponses,
});
