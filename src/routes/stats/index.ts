import { createRouter } from "../router";
import * as handlers from "./stats.handlers";
import * as routes from "./stats.routes";

// `errors` and `export` are their own paths; `/v1/stats` takes no id.
export const statsRouter = createRouter()
  .openapi(routes.getStats, handlers.getStats)
  .openapi(routes.getStatsErrors, handlers.getStatsErrors)
  .openapi(routes.exportStats, handlers.exportStats);
