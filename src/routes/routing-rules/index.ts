import { createRouter } from "../router";
import * as handlers from "./routing-rules.handlers";
import * as routes from "./routing-rules.routes";

export const routingRouter = createRouter()
  .openapi(routes.listRoutes, handlers.listRoutes)
  .openapi(routes.putRoute, handlers.putRoute)
  .openapi(routes.deleteRoute, handlers.deleteRoute);
