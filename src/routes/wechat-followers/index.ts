import { createRouter } from "../router";
import * as handlers from "./wechat-followers.handlers";
import * as routes from "./wechat-followers.routes";

export const wechatFollowersRouter = createRouter()
  .openapi(routes.syncFollowers, handlers.syncFollowers)
  .openapi(routes.listFollowers, handlers.listFollowers)
  .openapi(routes.listTags, handlers.listTags)
  .openapi(routes.createTag, handlers.createTag)
  .openapi(routes.tagMembers, handlers.tagMembers)
  .openapi(routes.untagMembers, handlers.untagMembers);
