import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { jsonBody, jsonResponse, listOf, problem, problems, wholeList } from "../openapi-helpers";

export const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});

export const TagParams = AppParams.extend({
  tag_id: z.coerce.number().int().min(0).openapi({ description: "WeChat's tag id" }),
});

export const Openid = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an openid");

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

export const unavailable = problem(
  503,
  "WeChat (or the app's token) could not be reached; trying again is safe",
);

export const SyncJobSchema = z
  .object({
    id: z.string().openapi({ example: "fsy_01JD0000000000000000000000" }),
    app_id: z.string(),
    status: z.enum(["running", "done", "failed"]),
    fetched: z.number().int().openapi({ description: "Followers listed and their info fetched" }),
    total: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "WeChat's follower count (from its first page)" }),
    pages: z.number().int().openapi({ description: "Pages of WeChat's list done (10,000 each)" }),
    error: z.string().nullable(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi("WeChatFollowerSync");

export const syncFollowers = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/followers/sync",
  operationId: "syncWeChatFollowers",
  tags: ["WeChat"],
  summary: "Start rebuilding the followers table from WeChat's follower list (a background job)",
  description:
    "Answers 202 with the job at once. A queue then reads WeChat's list a page (10,000 openids) at a time, fetches user info 100 at a time and updates the table; once the list is read, followers no longer listed are marked unfollowed. Follow the job's `fetched`, `total` and `status` with GET .../followers/sync/{job_id}. One job runs per app at a time (409 while one does). WeChat refusing the account ends the job `failed` with WeChat's errcode, marking no one unfollowed.",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    202: jsonResponse(SyncJobSchema, "Started"),
    ...problems(400, 401, 403, 404, 409, 429),
  },
});

export const getFollowerSync = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/followers/sync/{job_id}",
  operationId: "getWeChatFollowerSync",
  tags: ["WeChat"],
  summary: "A follower sync's progress",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: {
    params: AppParams.extend({ job_id: z.string().regex(/^fsy_[0-9A-Za-z]{1,40}$/, "a sync id") }),
  },
  responses: {
    200: jsonResponse(SyncJobSchema, "The job"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const listFollowerSyncs = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/followers/sync",
  operationId: "listWeChatFollowerSyncs",
  tags: ["WeChat"],
  summary: "The app's last 20 follower syncs, newest first",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(wholeList(SyncJobSchema), "The jobs"),
    ...problems(400, 401, 403, 404, 429),
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
