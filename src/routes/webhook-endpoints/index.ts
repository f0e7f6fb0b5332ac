import { createRouter } from "../router";
import * as handlers from "./webhook-endpoints.handlers";
import * as routes from "./webhook-endpoints.routes";

export const webhooksRouter = createRouter()
  .openapi(routes.createWebhook, handlers.createWebhook)
  .openapi(routes.listWebhooks, handlers.listWebhooks)
  .openapi(routes.getWebhook, handlers.getWebhook)
  .openapi(routes.deleteWebhook, handlers.deleteWebhook)
  .openapi(routes.rotateWebhookSecret, handlers.rotateWebhookSecret)
  .openapi(routes.listDeliveries, handlers.listDeliveries)
  .openapi(routes.replayDelivery, handlers.replayDelivery);
