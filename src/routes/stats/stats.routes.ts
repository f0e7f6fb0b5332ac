import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonResponse, problems } from "../openapi-helpers";

const TAG = "Statistics";

const Bound = (which: "from" | "to") =>
  z
    .string()
    .max(40)
    .optional()
    .openapi({
      description:
        which === "from"
          ? "The first local day (`YYYY-MM-DD` in `tz`) or an instant on a 15-minute boundary (RFC 3339); default: six days before `to`"
          : "The last local day (`YYYY-MM-DD` in `tz`, included) or the instant the range ends before; default: today",
    });

const Filters = {
  from: Bound("from"),
  to: Bound("to"),
  tz: z.string().max(64).optional().openapi({
    description: "IANA time zone of the days and hours (default `UTC`), e.g. `Asia/Shanghai`",
  }),
  channel: z.enum(["sms", "wechat", "webchat"]).optional(),
  provider: z.string().min(1).max(32).optional(),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, "an ISO 3166-1 alpha-2 country code")
    .optional(),
};

const GroupBy = z.string().max(100).optional().openapi({
  description:
    "Comma-separated: `day` or `hour`, and any of `channel`, `provider`, `template`, `country`, `status` (default `day`)",
  example: "day,provider",
});

const Nullable = z.string().nullable().optional();
const Ms = z.number().int().nullable();

export const StatsRowSchema = z
  .object({
    day: z.string().optional().openapi({ description: "Local date in `tz`" }),
    hour: z.string().optional().openapi({ description: "Local hour in `tz`, with its offset" }),
    channel: Nullable,
    provider: Nullable,
    template: Nullable,
    country: Nullable,
    status: Nullable,
    messages: z.number().int().openapi({ description: "Messages accepted in the range" }),
    sent: z.number().int().openapi({ description: "Sent, waiting for a receipt" }),
    delivered: z.number().int(),
    undelivered: z.number().int(),
    failed: z.number().int(),
    expired: z.number().int(),
    canceled: z.number().int(),
    delivery_rate: z.number().nullable().openapi({
      description: "delivered ÷ (delivered + undelivered + failed + expired); null when none ended",
    }),
    segments: z.number().int(),
    cost: z.number().openapi({ description: "In `currency`, as messages show it" }),
    currency: z.string(),
    inbound: z.number().int().nullable().openapi({
      description:
        "Inbound messages received in the period; null when grouped or filtered by what inbound messages do not have (template, country, status)",
    }),
    opt_outs: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Numbers opted out (as inbound)" }),
    verification_sends: z.number().int().nullable().openapi({
      description: "Verification codes sent, re-sends included (as inbound)",
    }),
    verification_checks: z.number().int().nullable(),
    verification_approvals: z.number().int().nullable(),
    p50_delivery_ms: Ms.openapi({
      description:
        "Accepted → delivered, median (upper bound of its histogram bucket); null when grouped by template",
    }),
    p95_delivery_ms: Ms,
  })
  .openapi("StatsRow");

export const getStats = createRoute({
  method: "get",
  path: "/v1/stats",
  operationId: "getStats",
  tags: [TAG],
  summary: "Sends, outcomes, cost, inbound and latency by time and dimension",
  security: bearerAuth,
  middleware: [requireScope("stats:read", "test-mode")] as const,
  request: { query: z.object({ ...Filters, group_by: GroupBy }) },
  responses: {
    200: jsonResponse(z.object({ data: z.array(StatsRowSchema) }).openapi("Stats"), "The groups"),
    ...problems(400, 401, 403, 429),
  },
});

export const getStatsErrors = createRoute({
  method: "get",
  path: "/v1/stats/errors",
  operationId: "getStatsErrors",
  tags: [TAG],
  summary: "Top reasons messages failed, went undelivered or expired, by provider and country",
  security: bearerAuth,
  middleware: [requireScope("stats:read", "test-mode")] as const,
  request: {
    query: z.object({
      ...Filters,
      limit: z.coerce.number().int().min(1).max(100).default(20),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          data: z.array(
            z.object({
              provider: z.string().nullable(),
              country: z.string().nullable(),
              status: z.enum(["failed", "undelivered", "expired"]),
              reason: z.string().nullable(),
              count: z.number().int(),
            }),
          ),
        })
        .openapi("StatsErrors"),
      "Most frequent first",
    ),
    ...problems(400, 401, 403, 429),
  },
});

export const exportStats = createRoute({
  method: "get",
  path: "/v1/stats/export",
  operationId: "exportStats",
  tags: [TAG],
  summary: "The rows of GET /v1/stats as CSV",
  security: bearerAuth,
  middleware: [requireScope("stats:read", "test-mode")] as const,
  request: {
    query: z.object({
      ...Filters,
      group_by: GroupBy,
      format: z.enum(["csv"]).default("csv"),
      bom: z
        .enum(["true", "false"])
        .default("false")
        .openapi({ description: "Start with a UTF-8 byte order mark (for Excel)" }),
    }),
  },
  responses: {
    200: {
      description: "CSV, a header row then one row per group; formula-like text cells start with '",
      content: { "text/csv": { schema: z.string() } },
    },
    ...problems(400, 401, 403, 429),
  },
});
