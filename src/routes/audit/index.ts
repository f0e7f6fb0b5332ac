import { createRouter } from "../router";
import * as handlers from "./audit.handlers";
import * as routes from "./audit.routes";

export const auditRouter = createRouter()
  .openapi(routes.verifyAuditLog, handlers.verifyAuditLog)
  .openapi(routes.listAuditEntries, handlers.listAuditEntries);
