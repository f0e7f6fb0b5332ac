import { createRouter } from "../router";
import * as handlers from "./tenant.handlers";
import * as routes from "./tenant.routes";

export const tenantRouter = createRouter()
  .openapi(routes.getTenant, handlers.getTenant)
  .openapi(routes.updateTenant, handlers.updateTenant);
