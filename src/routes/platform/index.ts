import { createRouter } from "../router";
import * as handlers from "./platform.handlers";
import * as routes from "./platform.routes";

export const platformRouter = createRouter()
  .openapi(routes.createTenant, handlers.createTenant)
  .openapi(routes.listTenants, handlers.listTenants)
  .openapi(routes.getTenant, handlers.getTenant)
  .openapi(routes.updateTenant, handlers.updateTenant)
  .openapi(routes.suspendTenant, handlers.suspendTenant)
  .openapi(routes.resumeTenant, handlers.resumeTenant)
  .openapi(routes.topUpBalance, handlers.topUpBalance)
  .openapi(routes.reencryptSecrets, handlers.reencryptSecrets);
