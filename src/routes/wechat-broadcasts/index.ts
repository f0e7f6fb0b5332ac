import { createRouter } from "../router";
import * as handlers from "./wechat-broadcasts.handlers";
import * as routes from "./wechat-broadcasts.routes";

export const wechatBroadcastsRouter = createRouter()
  .openapi(routes.previewBroadcast, handlers.previewBroadcast)
  .openapi(routes.createBroadcast, handlers.createBroadcast)
  .openapi(routes.listBroadcasts, handlers.listBroadcasts)
  .openapi(routes.getBroadcast, handlers.getBroadcast)
  .openapi(routes.cancelBroadcast, handlers.cancelBroadcast)
  .openapi(routes.approveBroadcast, handlers.approveBroadcast)
  .openapi(routes.rejectBroadcast, handlers.rejectBroadcast);
