import { createRoute, z } from "@hono/zod-openapi";
import {
  BROADCAST_TYPES,
  MAX_IMAGES,
  MAX_OPENIDS,
  MAX_TEXT_CHARS,
  MIN_OPENIDS,
} from "../../domain/wechat-broadcast";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problem, problems } from "../openapi-helpers";

const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});
const BroadcastParams = AppParams.extend({
  id: z.string().regex(/^brd_[0-9A-Za-z]{10,40}$/, "a broadcast id"),
});
const Openid = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an openid");

const Target = z
  .union([
    z.literal("all"),
    z.object({ tag_id: z.number().int().min(0) }).strict(),
    z.object({ openids: z.array(Openid).min(MIN_OPENIDS).max(MAX_OPENIDS) }).strict(),
  ])
  .openapi({
    description: `"all", {tag_id}, or {openids: [${MIN_OPENIDS}–${MAX_OPENIDS}]} (sent 10,000 per WeChat call; verified service accounts only)`,
  });

const TemplateSchema = z
  .object({
    wechat_template_id: z.string().min(1).max(64).openapi({
      description: "The template's id in the WeChat account (GET …/templates)",
    }),
    data: z.record(
      z.string().min(1).max(32),
      z.object({ value: z.string().max(200), color: z.string().max(16).optional() }).strict(),
    ),
    url: z.url().optional(),
    miniprogram: z
      .object({ appid: z.string().min(1).max(32), pagepath: z.string().max(256).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .openapi({
    description:
      "type template: one template message per follower (WeChat has no mass send for templates), sent in chunks through a queue",
  });

const messageFields = {
  type: z.enum(BROADCAST_TYPES),
  text: z.string().min(1).max(MAX_TEXT_CHARS).optional().openapi({ description: "type text" }),
  media_ids: z
    .array(z.string().min(1).max(128))
    .min(1)
    .max(MAX_IMAGES)
    .optional()
    .openapi({
      description: `Ours (med_…) or WeChat's media_id: 1–${MAX_IMAGES} for image, one for voice, mpvideo, mpnews (a draft's media_id)`,
    }),
  template: TemplateSchema.optional(),
};

const needsContent = <
  T extends { type: string; text?: string; media_ids?: string[]; template?: unknown },
>(
  body: T,
  ctx: z.RefinementCtx,
) => {
  if (body.type === "template") {
    if (!body.template) {
      ctx.addIssue({ code: "custom", path: ["template"], message: "template is required" });
    }
    for (const field of ["text", "media_ids"] as const) {
      if (body[field] !== undefined) {
        ctx.addIssue({ code: "custom", path: [field], message: "not for a template" });
      }
    }
    return;
  }
  if (body.template !== undefined) {
    ctx.addIssue({ code: "custom", path: ["template"], message: "only for type template" });
  }
  if (body.type === "text" ? !body.text : !body.media_ids?.length) {
    ctx.addIssue({
      code: "custom",
      path: [body.type === "text" ? "text" : "media_ids"],
      message: body.type === "text" ? "text is required" : "media_ids is required",
    });
  }
  if (body.type !== "image" && (body.media_ids?.length ?? 0) > 1) {
    ctx.addIssue({
      code: "custom",
      path: ["media_ids"],
      message: "only an image takes several",
    });
  }
};

export const CreateBody = z
  .object({ target: Target, ...messageFields })
  .strict()
  .superRefine(needsContent);

export const PreviewBody = z
  .object({ openid: Openid, ...messageFields })
  .strict()
  .superRefine(needsContent);

const QuotaSchema = z
  .object({
    period: z.enum(["day", "month"]),
    limit: z.number().int(),
    used: z.number().int(),
    remaining: z.number().int().openapi({ description: "0 for an account not verified" }),
    resets_at: z.string(),
  })
  .openapi("WeChatBroadcastQuota");

export const BroadcastSchema = z
  .object({
    id: z.string(),
    app_id: z.string(),
    target: z.unknown(),
    type: z.enum(BROADCAST_TYPES),
    text: z.string().nullable(),
    media_ids: z.array(z.string()).nullable(),
    template: TemplateSchema.nullable(),
    status: z
      .enum(["pending_review", "sending", "sent", "failed", "rejected", "canceled"])
      .openapi({
        description: "sending: a template broadcast whose chunks are going out",
      }),
    review_reason: z.string().nullable(),
    failure: z.string().nullable(),
    msg_ids: z.array(z.string()).openapi({ description: "WeChat's, one per call" }),
    finished: z.boolean().openapi({
      description: "Every job's MASSSENDJOBFINISH came; a template broadcast: every chunk is done",
    }),
    total: z.number().int().nullable().openapi({
      description: "WeChat's TotalCount, summed; a template broadcast: its followers listed so far",
    }),
    after_filter: z.number().int().nullable().openapi({ description: "FilterCount" }),
    sent: z.number().int().nullable().openapi({
      description: "SentCount; a template broadcast: template messages WeChat took so far",
    }),
    errors: z.number().int().nullable().openapi({
      description:
        "ErrorCount; a template broadcast: those WeChat refused (or whose outcome is unknown)",
    }),
    created_at: z.string(),
    sent_at: z.string().nullable(),
    canceled_at: z.string().nullable(),
  })
  .openapi("WeChatBroadcast");

const unavailable = problem(
  503,
  "WeChat (or the app's token) could not be reached; trying again is safe",
);

export const createBroadcast = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/broadcasts",
  operationId: "createWeChatBroadcast",
  tags: ["WeChat"],
  summary: "Mass-send (群发) to all followers, a tag or openids",
  description:
    "Text is screened for sensitive words: a blocked word is a 422; a word that needs review holds the broadcast as pending_review until approved. The account must be verified; the quota of its type (subscription 1 a day, service 4 a month, China time) is checked first: 429 with Retry-After when used. WeChat's MASSSENDJOBFINISH event later fills total, after_filter, sent and errors. A template broadcast (service accounts) is no mass send: it is `sending` while one template message per follower goes out in chunks through a queue, total, sent and errors counting as they finish; it takes none of the mass-send quota; cancel stops the chunks not yet sent.",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: {
    headers: IdempotencyHeaders,
    params: AppParams,
    body: jsonBody(CreateBody),
  },
  responses: {
    201: jsonResponse(BroadcastSchema, "Sent, or held for review"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

export const previewBroadcast = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/broadcasts/preview",
  operationId: "previewWeChatBroadcast",
  tags: ["WeChat"],
  summary: "Send the message to one follower to check it first (WeChat's preview)",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: { params: AppParams, body: jsonBody(PreviewBody) },
  responses: {
    200: jsonResponse(z.object({ msg_id: z.string().nullable() }), "Sent to the follower"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

export const listBroadcasts = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/broadcasts",
  operationId: "listWeChatBroadcasts",
  tags: ["WeChat"],
  summary: "The account's broadcasts, newest first, with its mass-send quota",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: {
    params: AppParams,
    query: z.object({ limit: LimitQuery, cursor: z.string().optional() }),
  },
  responses: {
    200: jsonResponse(listOf(BroadcastSchema).extend({ quota: QuotaSchema }), "A page"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const getBroadcast = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/broadcasts/{id}",
  operationId: "getWeChatBroadcast",
  tags: ["WeChat"],
  summary: "A broadcast and its job-finish counts",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: { params: BroadcastParams },
  responses: {
    200: jsonResponse(BroadcastSchema, "The broadcast"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const cancelBroadcast = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/broadcasts/{id}/cancel",
  operationId: "cancelWeChatBroadcast",
  tags: ["WeChat"],
  summary:
    "Cancel: one held for review is not sent; a sending template broadcast sends no more chunks; a sent mpnews or mpvideo is deleted at WeChat",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: { params: BroadcastParams },
  responses: {
    200: jsonResponse(BroadcastSchema, "Canceled"),
    ...problems(400, 401, 403, 404, 422, 429),
    ...conflict("Already canceled or rejected, or a sent type WeChat cannot delete"),
    ...unavailable,
  },
});

export const approveBroadcast = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/broadcasts/{id}/approve",
  operationId: "approveWeChatBroadcast",
  tags: ["WeChat"],
  summary: "Approve a broadcast held for review: it is sent now",
  security: bearerAuth,
  middleware: [requireScope("templates:review")] as const,
  request: { params: BroadcastParams },
  responses: {
    200: jsonResponse(BroadcastSchema, "Approved and sent"),
    ...problems(400, 401, 403, 404, 422, 429),
    ...conflict("Not pending review"),
    ...unavailable,
  },
});

export const rejectBroadcast = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/broadcasts/{id}/reject",
  operationId: "rejectWeChatBroadcast",
  tags: ["WeChat"],
  summary: "Reject a broadcast held for review",
  security: bearerAuth,
  middleware: [requireScope("templates:review")] as const,
  request: {
    params: BroadcastParams,
    body: jsonBody(z.object({ reason: z.string().trim().min(1).max(500) }).strict()),
  },
  responses: {
    200: jsonResponse(BroadcastSchema, "Rejected"),
    ...problems(400, 401, 403, 404, 413, 415, 429),
    ...conflict("Not pending review"),
  },
});
