import { validationError } from "../../lib/problem";
import { createRouter } from "../router";
import * as handlers from "./messages.handlers";
import * as routes from "./messages.routes";
import { sendBodyError } from "./messages.schemas";

export const messagesRouter = createRouter()
  .openapi(routes.sendMessage, handlers.sendMessage, (result) => {
    // The router's default, but a refused body is told what sendBodyError finds. The validator
    // hands its hook the input it refused (@hono/zod-validator's Hook type has it as `data`).
    if (!result.success) {
      const input = "data" in result ? result.data : undefined;
      throw validationError(
        result.target,
        result.target === "json" ? sendBodyError(input, result.error) : result.error,
      );
    }
  })
  .openapi(routes.previewMessage, handlers.previewMessage)
  .openapi(routes.cancelMessage, handlers.cancelMessage)
  .openapi(routes.listMessages, handlers.listMessages)
  // Before `/v1/messages/{id}`, which would take `export` for an id.
  .openapi(routes.exportMessages, handlers.exportMessages)
  .openapi(routes.getMessage, handlers.getMessage)
  .openapi(routes.redactMessageBody, handlers.redactMessageBody);
