import { createRouter } from "../router";
import * as handlers from "./messages.handlers";
import * as routes from "./messages.routes";

export const messagesRouter = createRouter()
  .openapi(routes.sendMessage, handlers.sendMessage)
  .openapi(routes.previewMessage, handlers.previewMessage)
  .openapi(routes.cancelMessage, handlers.cancelMessage)
  .openapi(routes.listMessages, handlers.listMessages)
  // Before `/v1/messages/{id}`, which would take `export` for an id.
  .openapi(routes.exportMessages, handlers.exportMessages)
  .openapi(routes.getMessage, handlers.getMessage)
  .openapi(routes.redactMessageBody, handlers.redactMessageBody);
