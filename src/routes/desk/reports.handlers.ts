import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import type { ReportRow } from "../../domain/desk-reports";
import { deskReport, type ReportQuery, reportCsv } from "../../services/desk/reports";
import type * as routes from "./reports.routes";

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

function present(groupBy: "agent" | "day", r: ReportRow) {
  return {
    ...(groupBy === "agent" ? { agent_id: r.key } : { day: r.key ?? "" }),
    handled: r.handled,
    first_response_p50_seconds: seconds(r.firstResponseP50Ms),
    first_response_p90_seconds: seconds(r.firstResponseP90Ms),
    resolution_p50_seconds: seconds(r.resolutionP50Ms),
    resolution_p90_seconds: seconds(r.resolutionP90Ms),
    left_messages: r.leftMessages,
    left_messages_on_time: r.leftMessagesOnTime,
    satisfaction_average: r.satisfactionAverage,
    satisfaction_count: r.satisfactionCount,
    inspection_average: r.inspectionAverage,
    inspection_count: r.inspectionCount,
  };
}

/** A date stays a date (the service counts it in the report's zone); else an instant. */
const boundOf = (value: string) => (/^\d{4}-\d{2}-\d{2}$/.test(value) ? value : Date.parse(value));

/** The service's query from the route's (absent bounds take the service's defaults). */
function queryOf(q: {
  from?: string | undefined;
  to?: string | undefined;
  tz?: string | undefined;
  group_by: "agent" | "day";
}): ReportQuery {
  return {
    ...(q.from !== undefined ? { from: boundOf(q.from) } : {}),
    ...(q.to !== undefined ? { to: boundOf(q.to) } : {}),
    ...(q.tz !== undefined ? { timeZone: q.tz } : {}),
    groupBy: q.group_by,
  };
}

export const getDeskReport: RouteHandler<typeof routes.getDeskReport, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const report = await deskReport(c.env, c.get("caller"), queryOf(q));
  return c.json(
    {
      from: new Date(report.from).toISOString(),
      to: new Date(report.to).toISOString(),
      tz: report.timeZone,
      group_by: q.group_by,
      data: report.rows.map((r) => present(q.group_by, r)),
    },
    200,
  );
};

export const exportDeskReport: RouteHandler<typeof routes.exportDeskReport, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const report = await deskReport(c.env, c.get("caller"), queryOf(q));
  return c.body(reportCsv(q.group_by, report.rows, q.bom === "true"), 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": 'attachment; filename="relaybox-desk-report.csv"',
  });
};
