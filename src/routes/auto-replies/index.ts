import { createRouter } from "../router";
import * as handlers from "./auto-replies.handlers";
import * as routes from "./auto-replies.routes";

export const autoRepliesRouter = createRouter()
  .openapi(routes.listAutoReplies, handlers.listAutoReplies)
  .openapi(routes.createAutoReply, handlers.createAutoReply)
  .openapi(routes.getAutoReply, handlers.getAutoReply)
  .openapi(routes.listRuleQueries, handlers.listRuleQueries)
  .openapi(routes.updateAutoReply, handlers.updateAutoReply)
  .openapi(routes.deleteAutoReply, handlers.deleteAutoReply);
