import { createRouter } from "../router";
import * as handlers from "./providers.handlers";
import * as routes from "./providers.routes";

export const providersRouter = createRouter()
  .openapi(routes.listProviders, handlers.listProviders)
  .openapi(routes.getProvider, handlers.getProvider)
  .openapi(routes.putProvider, handlers.putProvider)
  .openapi(routes.deleteProvider, handlers.deleteProvider)
  .openapi(routes.rotateHookToken, handlers.rotateHookToken);
