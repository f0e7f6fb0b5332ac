import { createRoute, z } from "@hono/zod-openapi";
import { isTimeZone } from "../../domain/desk";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonResponse, problems } from "../openapi-helpers";

const Instant = z
  .string()
  .refine(
    (v) =>
      /^\d{4}-\d{2}-\d{2}(T.+)?$/.test(v) &&
      !Number.isNaN(Date.parse(v)) &&
      // V8 rolls 2026-02-30 over into March rather than refusing it.
      new Date(Date.parse(v.slice(0, 10))).toISOString().slice(0, 10) === v.slice(0, 10),
    { message: "an ISO 8601 date or date-time" },
  )
  .openapi({
    description: "A date-time, or a date `YYYY-MM-DD`: the start of that day in `tz`",
    example: "2026-12-07T00:00:00+08:00",
  });

const ReportQuery = z.object({
  from: Instant.optional().openapi({
    description:
      "Resolutions at or after this date-time, or from the start of this date (`YYYY-MM-DD`) in `tz`; default: the start of the local day six days before the one `to` ends in (seven days in `tz`)",
  }),
  to: Instant.optional().openapi({
    description:
      "Resolutions before this date-time, or before the start of this date in `tz` (`from=2026-12-07&to=2026-12-08` is one day), at most 92 days after `from`; default: the end of today in `tz`",
  }),
  tz: z
    .string()
    .refine(isTimeZone, "an IANA time zone")
    .optional()
    .openapi({ description: "The zone days are counted in; default: the desk's time_zone" }),
  group_by: z.enum(["agent", "day"]).default("agent"),
});

export const ReportRowSchema = z
  .object({
    agent_id: z.string().nullable().optional(),
    day: z.string().optional(),
    handled: z.number().int().openapi({ description: "Conversations resolved" }),
    first_response_p50_seconds: z.number().nullable(),
    first_response_p90_seconds: z.number().nullable(),
    resolution_p50_seconds: z.number().nullable(),
    resolution_p90_seconds: z.number().nullable(),
    left_messages: z.number().int(),
    left_messages_on_time: z.number().int(),
    satisfaction_average: z.number().nullable(),
    satisfaction_count: z.number().int(),
    inspection_average: z
      .number()
      .nullable()
      .openapi({ description: "Inspection scores as a percentage of their checklist's points" }),
    inspection_count: z.number().int(),
  })
  .openapi("DeskReportRow");

export const getDeskReport = createRoute({
  method: "get",
  path: "/v1/desk/reports",
  operationId: "getDeskReport",
  tags: ["Desk"],
  summary:
    "Per agent or per day: handled, response and resolution times, 留言 on time, satisfaction",
  description:
    "Counts each hand-off to people once, at its resolution. First response: hand-off to the agent's first reply; resolution: hand-off to resolution; p50/p90 are nearest-rank. A left message is on time when resolved by its due time.",
  security: bearerAuth,
  middleware: [requireScope("stats:read")] as const,
  request: { query: ReportQuery },
  responses: {
    200: jsonResponse(
      z.object({
        from: z.string().openapi({ description: "The range's start, given or default" }),
        to: z.string().openapi({ description: "The range's end (excluded), given or default" }),
        tz: z.string(),
        group_by: z.enum(["agent", "day"]),
        data: z.array(ReportRowSchema),
      }),
      "The report",
    ),
    ...problems(400, 401, 403, 429),
  },
});

export const exportDeskReport = createRoute({
  method: "get",
  path: "/v1/desk/reports/export",
  operationId: "exportDeskReport",
  tags: ["Desk"],
  summary: "The rows of GET /v1/desk/reports as CSV",
  security: bearerAuth,
  middleware: [requireScope("stats:read")] as const,
  request: {
    query: ReportQuery.extend({
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
