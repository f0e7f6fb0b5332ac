import { createRouter } from "../router";
import * as handlers from "./opt-outs.handlers";
import * as routes from "./opt-outs.routes";

export const optOutsRouter = createRouter()
  .openapi(routes.listOptOuts, handlers.listOptOuts)
  .openapi(routes.createOptOut, handlers.createOptOut)
  .openapi(routes.deleteOptOut, handlers.deleteOptOut);
