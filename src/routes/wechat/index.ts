import { createRouter } from "../router";
import * as handlers from "./wechat.handlers";
import * as routes from "./wechat.routes";

export const wechatRouter = createRouter()
  .openapi(routes.putApp, handlers.putApp)
  .openapi(routes.listApps, handlers.listApps)
  .openapi(routes.getApp, handlers.getApp)
  .openapi(routes.deleteApp, handlers.deleteApp)
  .openapi(routes.listAutoReplies, handlers.listAutoReplies)
  .openapi(routes.createAutoReply, handlers.createAutoReply)
  .openapi(routes.deleteAutoReply, handlers.deleteAutoReply)
  .openapi(routes.listInbox, handlers.listInbox);
