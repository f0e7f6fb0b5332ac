import { createRoute, z } from "@hono/zod-openapi";
import { MAX_EXPIRE_SECONDS, MAX_SCENE_LENGTH } from "../../domain/wechat-qrcodes";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { jsonBody, jsonResponse, problem, problems } from "../openapi-helpers";

const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});

const ActionSchema = z
  .union([
    z.object({ bind_contact: z.string().min(1).max(200) }).strict(),
    z
      .object({
        auto_reply: z.union([
          z
            .object({
              type: z.literal("text"),
              content: z.string().min(1).max(2000),
            })
            .strict(),
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
        ]),
      })
      .strict(),
    z.object({ tag_id: z.number().int().min(0) }).strict(),
  ])
  .openapi("WeChatQrCodeAction", {
    description:
      "What a scan does: `bind_contact` (a contact's external id: the code becomes a single-use binding token), `auto_reply` (a text or news passive reply), or `tag_id` (the follower is tagged)",
  });

export const QrCodeSchema = z
  .object({
    id: z.string(),
    app_id: z.string(),
    scene: z.string(),
    scene_str: z.string().openapi({
      description: "What WeChat carries: your scene, or a random single-use token for a binding",
    }),
    temporary: z.boolean(),
    action: z.record(z.string(), z.unknown()).nullable(),
    ticket: z.string(),
    url: z.string().openapi({ description: "What the QR code encodes" }),
    image_url: z.string().openapi({ description: "WeChat's image of the code (showqrcode)" }),
    expires_at: z.string().nullable(),
    used_by: z.string().nullable().openapi({ description: "The openid that spent a binding code" }),
    used_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("WeChatQrCode");

export const createQrCode = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/qrcodes",
  operationId: "createWeChatQrCode",
  tags: ["WeChat"],
  summary: "Make a QR code with a scene (temporary up to 30 days, or permanent)",
  description: `WeChat's \`qrcode/create\` with a string scene (\`QR_STR_SCENE\` or \`QR_LIMIT_STR_SCENE\`). A scan, or a follow by scanning, sends the \`wechat.scan\` webhook event \`{app_id, openid, scene, qrcode_id, event: scan|subscribe, action_result}\` and runs the code's action. A binding code works once: the follower who scans it first is bound to the contact. Limits checked before WeChat is called: scene ≤ ${MAX_SCENE_LENGTH} characters, \`expire_seconds\` ≤ ${MAX_EXPIRE_SECONDS} (WeChat's default 60). WeChat refusing is a 422 naming its errcode.`,
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    params: AppParams,
    body: jsonBody(
      z
        .object({
          scene: z.string().min(1).max(MAX_SCENE_LENGTH),
          temporary: z.boolean(),
          expire_seconds: z.number().int().min(1).max(MAX_EXPIRE_SECONDS).optional(),
          action: ActionSchema.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(QrCodeSchema, "Made"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...problem(503, "WeChat (or the app's token) could not be reached; trying again is safe"),
  },
});

export const listQrCodes = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/qrcodes",
  operationId: "listWeChatQrCodes",
  tags: ["WeChat"],
  summary: "The app's QR codes, newest first",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams, query: z.object({ limit: LimitQuery }) },
  responses: {
    200: jsonResponse(
      z.object({ data: z.array(QrCodeSchema), next_cursor: z.null() }),
      "The newest codes (up to `limit`)",
    ),
    ...problems(400, 401, 403, 404, 429),
  },
});
