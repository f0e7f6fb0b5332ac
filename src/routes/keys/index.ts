import { createRouter } from "../router";
import * as handlers from "./keys.handlers";
import * as routes from "./keys.routes";

export const keysRouter = createRouter()
  .openapi(routes.createKey, handlers.createKey)
  .openapi(routes.listKeys, handlers.listKeys)
  .openapi(routes.updateKey, handlers.updateKey)
  .openapi(routes.revokeKey, handlers.revokeKey);
