import { createRouter } from "../router";
import * as handlers from "./inbound.handlers";
import * as routes from "./inbound.routes";

export const inboundRouter = createRouter()
  .openapi(routes.listInbound, handlers.listInbound)
  .openapi(routes.getInbound, handlers.getInbound);
