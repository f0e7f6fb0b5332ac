import { createRouter } from "../router";
import * as admin from "./wechat-follower-admin.handlers";
import * as adminRoutes from "./wechat-follower-admin.routes";
import * as handlers from "./wechat-followers.handlers";
import * as routes from "./wechat-followers.routes";

export const wechatFollowersRouter = createRouter()
  .openapi(routes.syncFollowers, handlers.syncFollowers)
  .openapi(routes.listFollowerSyncs, handlers.listFollowerSyncs)
  .openapi(routes.getFollowerSync, handlers.getFollowerSync)
  .openapi(routes.listFollowers, handlers.listFollowers)
  .openapi(routes.listTags, handlers.listTags)
  .openapi(routes.createTag, handlers.createTag)
  .openapi(adminRoutes.renameTag, admin.renameTag)
  .openapi(adminRoutes.deleteTag, admin.deleteTag)
  .openapi(routes.tagMembers, handlers.tagMembers)
  .openapi(routes.untagMembers, handlers.untagMembers)
  .openapi(adminRoutes.setRemark, admin.setRemark)
  .openapi(adminRoutes.listBlacklist, admin.listBlacklist)
  .openapi(adminRoutes.addToBlacklist, admin.addToBlacklist)
  .openapi(adminRoutes.removeFromBlacklist, admin.removeFromBlacklist)
  .openapi(adminRoutes.jssdkConfig, admin.jssdkConfig);
