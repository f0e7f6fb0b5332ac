import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders } from "../common";
import { jsonBody, jsonResponse, problem, problems } from "../openapi-helpers";

const TAG = "Verifications";

const Status = z.enum(["pending", "approved", "expired", "canceled", "max_attempts_reached"]);

export const VerificationSchema = z
  .object({
    id: z.string().openapi({ example: "vrf_01JD8X7Q2M3N4P5R6S7T8V9W0X" }),
    to: z.string().openapi({ description: "E.164 for SMS; the contact or openid for WeChat" }),
    channel: z.enum(["sms", "wechat", "auto"]),
    status: Status,
    send_count: z.number().int(),
    attempts_left: z.number().int(),
    expires_at: z.string(),
    created_at: z.string(),
    approved_at: z.string().nullable(),
    sandbox_code: z
      .string()
      .optional()
      .openapi({ description: "The code, only for a test key (test keys never reach a carrier)" }),
  })
  .openapi("Verification");

const VerificationParams = z.object({ id: z.string().min(1).max(64) });

const limited = problem(
  429,
  "A verification limit (`limit`: number_minute, number_hour, number_day, platform_number, prefix_velocity, country_day, low_conversion) or the key's request limit; retry after `Retry-After` seconds",
);

export const startVerification = createRoute({
  method: "post",
  path: "/v1/verifications",
  operationId: "sendVerification",
  tags: [TAG],
  summary: "Send a verification code (or a fresh one on the pending verification to `to`)",
  description:
    "Admitted by the limits first (nothing is sent when one refuses); a re-send inside the ttl replaces the code on the same verification. The message goes in the transactional lane.",
  security: bearerAuth,
  middleware: [requireScope("verifications:write", "test-mode")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          to: z.string().trim().min(1).max(128),
          channel: z.enum(["sms", "wechat", "auto"]).default("sms"),
          app_id: z.string().min(1).max(64).optional(),
          template_id: z.string().min(1).max(128).optional().openapi({
            description:
              "SMS: your approved template with a {code} variable; WeChat/auto: the WeChat template id",
          }),
          code_length: z.number().int().min(4).max(10).default(6),
          ttl_seconds: z.number().int().min(60).max(3600).default(600),
          locale: z.enum(["zh", "en"]).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(VerificationSchema, "Sent"),
    ...problems(400, 401, 403, 415, 422),
    ...limited,
  },
});

export const checkVerification = createRoute({
  method: "post",
  path: "/v1/verifications/check",
  operationId: "checkVerification",
  tags: [TAG],
  summary: "Check a code: it works once; five wrong ones end the verification",
  security: bearerAuth,
  middleware: [requireScope("verifications:write", "test-mode")] as const,
  request: {
    body: jsonBody(
      z
        .object({
          id: z.string().min(1).max(64).optional(),
          to: z.string().trim().min(1).max(128).optional(),
          code: z.string().trim().min(1).max(10),
        })
        .strict()
        .refine((b) => (b.id === undefined) !== (b.to === undefined), {
          message: "give id or to, not both",
          path: ["id"],
        }),
    ),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          id: z.string(),
          status: Status,
          valid: z.boolean(),
          attempts_left: z.number().int(),
        })
        .openapi("VerificationCheck"),
      "Checked",
    ),
    ...problems(400, 401, 403, 404, 415, 429),
  },
});

export const verificationStats = createRoute({
  method: "get",
  path: "/v1/verifications/stats",
  operationId: "getVerificationStats",
  tags: [TAG],
  summary: "Per day: started, sent, approved, conversion and refusals per limit",
  security: bearerAuth,
  middleware: [requireScope("verifications:write", "test-mode")] as const,
  request: {
    query: z.object({
      from: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, "a date, YYYY-MM-DD (UTC)")
        .optional()
        .openapi({ description: "The first day (UTC); default: six days before `to`" }),
      to: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, "a date, YYYY-MM-DD (UTC)")
        .optional()
        .openapi({ description: "The last day (UTC); default: today" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          data: z.array(
            z.object({
              date: z.string(),
              started: z.number().int(),
              sent: z.number().int(),
              approved: z.number().int(),
              conversion_rate: z.number().nullable(),
              refusals: z.record(z.string(), z.number().int()),
            }),
          ),
        })
        .openapi("VerificationStats"),
      "Days, oldest first",
    ),
    ...problems(400, 401, 403, 429),
  },
});

export const verificationTemplates = createRoute({
  method: "get",
  path: "/v1/verifications/templates",
  operationId: "listVerificationTemplates",
  tags: [TAG],
  summary: "The default verification templates (made on first use), to map to provider codes",
  description:
    "Codes without a `template_id` go as these templates (approved, kind `verification`, variables `code` and `minutes`). Providers that send only approved templates (Aliyun, Tencent) need each mapped to its provider code once: `PUT /v1/templates/{template_id}/provider-codes`.",
  security: bearerAuth,
  middleware: [requireScope("verifications:write", "test-mode")] as const,
  responses: {
    200: jsonResponse(
      z
        .object({
          data: z.array(
            z.object({
              locale: z.enum(["zh", "en"]),
              template_id: z.string().openapi({ example: "tpl_01JD8X7Q2M3N4P5R6S7T8V9WVZ" }),
              body: z.string(),
            }),
          ),
        })
        .openapi("VerificationTemplates"),
      "The default templates",
    ),
    ...problems(401, 403),
  },
});

export const getVerification = createRoute({
  method: "get",
  path: "/v1/verifications/{id}",
  operationId: "getVerification",
  tags: [TAG],
  summary: "Read a verification",
  security: bearerAuth,
  middleware: [requireScope("verifications:write", "test-mode")] as const,
  request: { params: VerificationParams },
  responses: {
    200: jsonResponse(VerificationSchema, "The verification"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const cancelVerification = createRoute({
  method: "post",
  path: "/v1/verifications/{id}/cancel",
  operationId: "cancelVerification",
  tags: [TAG],
  summary: "Cancel a pending verification: its code stops working",
  security: bearerAuth,
  middleware: [requireScope("verifications:write", "test-mode")] as const,
  request: { params: VerificationParams },
  responses: {
    200: jsonResponse(VerificationSchema, "Canceled"),
    ...problems(400, 401, 403, 404, 409, 429),
  },
});
