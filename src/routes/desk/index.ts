import { ApiError } from "../../lib/problem";
import { requireScope } from "../../middleware/api-key";
import { isCrossSite } from "../../middleware/session";
import { openLive } from "../../services/desk/desk";
import { createRouter } from "../router";
import * as handlers from "./desk.handlers";
import * as routes from "./desk.routes";
import * as inspectionHandlers from "./inspections.handlers";
import * as inspectionRoutes from "./inspections.routes";
import * as reportHandlers from "./reports.handlers";
import * as reportRoutes from "./reports.routes";

export const deskRouter = createRouter()
  .openapi(routes.listAgents, handlers.listAgents)
  .openapi(routes.updateAgent, handlers.updateAgent)
  .openapi(routes.listQueues, handlers.listQueues)
  .openapi(routes.assignConversation, handlers.assignConversation)
  .openapi(routes.transferConversation, handlers.transferConversation)
  .openapi(routes.resolveConversation, handlers.resolveConversation)
  .openapi(routes.addNote, handlers.addNote)
  .openapi(routes.listEvents, handlers.listEvents)
  .openapi(routes.reply, handlers.reply)
  .openapi(reportRoutes.getDeskReport, reportHandlers.getDeskReport)
  .openapi(reportRoutes.exportDeskReport, reportHandlers.exportDeskReport)
  .openapi(inspectionRoutes.listChecklists, inspectionHandlers.listChecklists)
  .openapi(inspectionRoutes.createChecklist, inspectionHandlers.createChecklist)
  .openapi(inspectionRoutes.getChecklist, inspectionHandlers.getChecklist)
  .openapi(inspectionRoutes.updateChecklist, inspectionHandlers.updateChecklist)
  .openapi(inspectionRoutes.deleteChecklist, inspectionHandlers.deleteChecklist)
  .openapi(inspectionRoutes.scoreConversation, inspectionHandlers.scoreConversation)
  .openapi(inspectionRoutes.inspectionQueue, inspectionHandlers.inspectionQueue)
  .openapi(inspectionRoutes.listInspections, inspectionHandlers.listInspections);

/**
 * The desk's live channel: a WebSocket served by the tenant's desk object (Hibernation API).
 * `/v1/desk/live` takes an API key, `/dashboard/desk/live` the dashboard's session; `?after=<seq>`
 * replays what came after the last event the client saw (or `{type: "reset"}` when the bounded log
 * no longer holds it: reload and connect without `after`).
 */
for (const path of ["/v1/desk/live", "/dashboard/desk/live"]) {
  deskRouter.get(path, requireScope("desk:work", "query"), async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError("validation-error", "This is a WebSocket: send `Upgrade: websocket`.");
    }
    // A browser opens a WebSocket from any page with the site's cookies: a session's socket must
    // come from our own pages (cross-site WebSocket hijacking).
    if (c.req.header("authorization") === undefined && isCrossSite(c)) {
      throw new ApiError("forbidden", "Cross-site requests with a session are refused.");
    }
    const after = c.req.query("after");
    if (after !== undefined && !/^\d{1,15}$/.test(after)) {
      throw new ApiError("validation-error", "after must be a sequence number.", {
        errors: [{ pointer: "/query/after", detail: "a whole number" }],
      });
    }
    return openLive(c.env, c.get("caller"), after, c.req.raw.headers);
  });
}
