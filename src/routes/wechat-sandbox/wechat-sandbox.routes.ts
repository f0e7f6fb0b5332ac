import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, LimitQuery } from "../common";
import { jsonBody, jsonResponse, problem, problems } from "../openapi-helpers";

const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});

const DEVELOPMENT_ONLY =
  "Development only: served when WECHAT_SANDBOX_ENABLED is on (`npm start` turns it on; a deployment never does), a 404 otherwise. For a sandbox app: one of yours whose `api_base_url` is `<PUBLIC_BASE_URL>/sandbox/wechat`.";

const ReplySchema = z
  .object({
    type: z.string().openapi({ description: "text or news, as the webhook replied" }),
    content: z.string().optional(),
    articles: z
      .array(
        z.object({
          title: z.string(),
          description: z.string(),
          url: z.string(),
          pic_url: z.string(),
        }),
      )
      .optional(),
  })
  .openapi("WeChatSandboxReply");

export const followerMessage = createRoute({
  method: "post",
  path: "/v1/sandbox/wechat/{app_id}/messages",
  operationId: "sendWeChatSandboxMessage",
  tags: ["WeChat sandbox"],
  summary: "A follower of a sandbox account sends a text message",
  description: `${DEVELOPMENT_ONLY} The sandbox posts the message to the app's webhook (\`/wechat/{app_id}\`) as WeChat does: signed with the app's Token, and encrypted with its EncodingAESKey in safe or compatible mode. It lands in the inbox, opens the follower's 48-hour customer-service window and is answered by the auto-reply rules; the passive reply comes back here (\`reply\`: null when no rule matched).`,
  security: bearerAuth,
  middleware: [requireScope("messages:send", "test-mode")] as const,
  request: {
    params: AppParams,
    body: jsonBody(
      z
        .object({
          openid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an openid"),
          text: z.string().min(1).max(2000),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(
      z.object({
        app_id: z.string(),
        openid: z.string(),
        msg_id: z.string().openapi({ description: "The MsgId WeChat gave the message" }),
        webhook_status: z.number().int(),
        reply: ReplySchema.nullable(),
      }),
      "The webhook took it; its passive reply",
    ),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...problem(503, "The webhook refused the sandbox's push"),
  },
});

export const followerScan = createRoute({
  method: "post",
  path: "/v1/sandbox/wechat/{app_id}/scan",
  operationId: "sendWeChatSandboxScan",
  tags: ["WeChat sandbox"],
  summary: "Someone scans a QR code of a sandbox account",
  description: `${DEVELOPMENT_ONLY} Name the code by its \`ticket\` (from \`POST /v1/wechat/apps/{app_id}/qrcodes\`) or its \`scene\` string. A follower's scan is WeChat's \`SCAN\` event; anyone else follows by scanning (\`subscribe\` with EventKey \`qrscene_…\`, and becomes a follower of the sandbox account). The sandbox posts the event to the app's webhook as WeChat does; the passive reply comes back here.`,
  security: bearerAuth,
  middleware: [requireScope("messages:send", "test-mode")] as const,
  request: {
    params: AppParams,
    body: jsonBody(
      z
        .object({
          openid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an openid"),
          ticket: z.string().min(1).max(200).optional(),
          scene: z.string().min(1).max(64).optional(),
        })
        .strict()
        .refine((body) => (body.ticket === undefined) !== (body.scene === undefined), {
          message: "name the code by ticket or by scene (one of them)",
          path: ["ticket"],
        }),
    ),
  },
  responses: {
    200: jsonResponse(
      z.object({
        app_id: z.string(),
        openid: z.string(),
        event: z.enum(["SCAN", "subscribe"]),
        scene: z.string(),
        ticket: z.string(),
        webhook_status: z.number().int(),
        reply: ReplySchema.nullable(),
      }),
      "The webhook took it; its passive reply",
    ),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...problem(503, "The webhook refused the sandbox's push"),
  },
});

const ReceivedSchema = z
  .object({
    kind: z.enum(["template", "customer_service", "mass", "mass_preview", "subscribe_notice"]),
    msg_id: z.string().nullable().openapi({ description: "WeChat's msgid, for a template" }),
    openid: z.string(),
    content: z.unknown().openapi({ description: "What was sent to WeChat, but `touser`" }),
    received_at: z.string(),
  })
  .openapi("WeChatSandboxReceived");

export const listReceived = createRoute({
  method: "get",
  path: "/v1/sandbox/wechat/{app_id}/received",
  operationId: "listWeChatSandboxReceived",
  tags: ["WeChat sandbox"],
  summary: "What the sandbox account's followers received, newest first",
  description: `${DEVELOPMENT_ONLY} Template and customer-service messages, as the platform sent them to the sandbox's WeChat API.`,
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: { params: AppParams, query: z.object({ limit: LimitQuery }) },
  responses: {
    200: jsonResponse(
      z.object({ data: z.array(ReceivedSchema), next_cursor: z.null() }),
      "The messages",
    ),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const putSettings = createRoute({
  method: "put",
  path: "/v1/sandbox/wechat/{app_id}/settings",
  operationId: "setWeChatSandboxSettings",
  tags: ["WeChat sandbox"],
  summary: "The sandbox account's settings: how many followers it has",
  description: `${DEVELOPMENT_ONLY} \`followers_count\` (3–1,000,000) gives the account that many followers: the starting three and generated ones (oSandboxFollower000000000004 and on), to try a large follower sync.`,
  security: bearerAuth,
  middleware: [requireScope("admin", "test-mode")] as const,
  request: {
    params: AppParams,
    body: jsonBody(z.object({ followers_count: z.number().int().min(3).max(1_000_000) }).strict()),
  },
  responses: {
    200: jsonResponse(
      z.object({ app_id: z.string(), followers_count: z.number().int() }),
      "The account's followers now",
    ),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});
