import { createRoute, z } from "@hono/zod-openapi";
import { MAX_MEDIA_BYTES, MEDIA_RULES, MEDIA_TYPES } from "../../domain/wechat-media";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, LimitQuery } from "../common";
import { conflict, jsonResponse, listOf, problem, problems } from "../openapi-helpers";

export const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});
const MediaParams = AppParams.extend({
  id: z.string().regex(/^med_[0-9A-Za-z]{10,40}$/, "a media id"),
});

const limits = MEDIA_TYPES.map(
  (type) =>
    `${type}: ${MEDIA_RULES[type].formats.join("/")} up to ${MEDIA_RULES[type].maxBytes / 1024} KB`,
).join("; ");

export const MediaSchema = z
  .object({
    id: z.string().openapi({
      description: "Ours: messages and broadcasts take it or media_id",
    }),
    app_id: z.string(),
    type: z.enum(MEDIA_TYPES),
    permanent: z.boolean(),
    media_id: z.string().openapi({ description: "WeChat's" }),
    url: z.string().nullable().openapi({ description: "WeChat's URL of a permanent image" }),
    filename: z.string().nullable(),
    bytes: z.number().int(),
    expires_at: z.string().nullable().openapi({ description: "Temporary media: 3 days at WeChat" }),
    created_at: z.string(),
  })
  .openapi("WeChatMedia");

/** The form's fields, sent before the file (the file is streamed through as it arrives). */
export const MediaFields = z.object({
  type: z.enum(MEDIA_TYPES),
  permanent: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  title: z.string().max(64).optional().openapi({ description: "A permanent video's" }),
  introduction: z.string().max(120).optional().openapi({ description: "A permanent video's" }),
});

const unavailable = problem(
  503,
  "WeChat (or the app's token) could not be reached; trying again is safe",
);

export const uploadMedia = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/media",
  operationId: "createWeChatMedia",
  tags: ["WeChat"],
  summary: "Upload an image, voice, video or thumb to WeChat (temporary or permanent)",
  description: `A multipart form. The file's format (by its first bytes) and size are checked against WeChat's rules before it is sent (${limits}; a voice at most 60 s, which WeChat checks). This route alone takes bodies up to ${MAX_MEDIA_BYTES / 1024 / 1024} MB. The file is streamed through to WeChat, not held: send the fields (type, permanent, title, introduction) before the file, and the file last; its declared size (from Content-Length) is checked first, and an upload whose bytes pass the type's limit is stopped as they pass it (the same 422 as a declared size over it) with nothing kept. Only our id and WeChat's media_id are kept, never the file.`,
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: {
    params: AppParams,
    body: {
      required: true,
      content: {
        "multipart/form-data": {
          schema: MediaFields.extend({
            file: z.instanceof(File).openapi({ type: "string", format: "binary" }),
          }),
        },
      },
    },
  },
  responses: {
    201: jsonResponse(MediaSchema, "Uploaded"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

export const listMedia = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/media",
  operationId: "listWeChatMedia",
  tags: ["WeChat"],
  summary: "Media uploaded through the API, newest first",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: {
    params: AppParams,
    query: z.object({
      permanent: z
        .enum(["true", "false"])
        .transform((v) => v === "true")
        .optional(),
      limit: LimitQuery,
      cursor: z.string().optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(MediaSchema), "A page of media"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const deleteMedia = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/media/{id}",
  operationId: "deleteWeChatMedia",
  tags: ["WeChat"],
  summary: "Delete permanent media at WeChat and here",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: { params: MediaParams },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 422, 429),
    ...conflict("Temporary media cannot be deleted: WeChat drops them after 3 days"),
    ...unavailable,
  },
});
