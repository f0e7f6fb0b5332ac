import { createRoute, z } from "@hono/zod-openapi";
import { CHANNELS } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, LimitQuery } from "../common";
import { jsonResponse, listOf, problems } from "../openapi-helpers";

const InboundId = z
  .string()
  .regex(/^inb_[0-9A-Z]{26}$/, "an inbound message id: inb_ and 26 characters");

export const InboundSchema = z
  .object({
    id: z.string(),
    channel: z.enum(CHANNELS),
    from: z.string().openapi({
      description: "The sender: E.164 for SMS, the openid for WeChat",
    }),
    to: z.string().openapi({
      description:
        "What it was sent to: your number (E.164) or the extension code replied to for SMS, the app id for WeChat",
    }),
    body: z.string(),
    conversation_id: z.string(),
    provider: z.string().openapi({ description: "sandbox, twilio, aliyun, tencent or wechat" }),
    provider_message_id: z.string(),
    handling: z.record(z.string(), z.unknown()).openapi({
      description:
        "What was done with it (opt_out, auto_reply, forwarded); `done` once every step ran",
    }),
    received_at: z.string(),
  })
  .openapi("InboundMessage");

export const listInbound = createRoute({
  method: "get",
  path: "/v1/inbound",
  operationId: "listInbound",
  tags: ["Inbound"],
  summary: "Messages people sent you (SMS and WeChat), newest first",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: {
    query: z.object({
      from: z.string().min(1).max(64).optional().openapi({
        description:
          "The sender: a number (a national one is read in your home country) or an openid",
      }),
      to: z.string().min(1).max(64).optional(),
      channel: z.enum(CHANNELS).optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      limit: LimitQuery,
      cursor: InboundId.optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(InboundSchema), "A page of inbound messages"),
    ...problems(400, 401, 403, 429),
  },
});

export const getInbound = createRoute({
  method: "get",
  path: "/v1/inbound/{id}",
  operationId: "getInbound",
  tags: ["Inbound"],
  summary: "One inbound message, with what was done with it",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: { params: z.object({ id: InboundId }) },
  responses: {
    200: jsonResponse(InboundSchema, "The inbound message"),
    ...problems(400, 401, 403, 404, 429),
  },
});
