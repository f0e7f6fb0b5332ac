import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { topErrors } from "../../services/stats/errors";
import { statsOf } from "../../services/stats/stats";
import { statsCsv } from "../../services/stats/stats-csv";
import { groupsOf } from "../../services/stats/stats-range";
import type * as routes from "./stats.routes";

export const getStats: RouteHandler<typeof routes.getStats, AppEnv> = async (c) => {
  const data = await statsOf(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data }, 200);
};

export const getStatsErrors: RouteHandler<typeof routes.getStatsErrors, AppEnv> = async (c) => {
  const data = await topErrors(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data }, 200);
};

export const exportStats: RouteHandler<typeof routes.exportStats, AppEnv> = async (c) => {
  const { format: _format, bom, ...params } = c.req.valid("query");
  const rows = await statsOf(c.env, c.get("caller"), params);
  const csv = statsCsv(groupsOf(params.group_by), rows, bom === "true");
  return c.body(csv, 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": 'attachment; filename="relaybox-stats.csv"',
  });
};
