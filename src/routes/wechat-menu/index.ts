import { createRouter } from "../router";
import * as handlers from "./wechat-menu.handlers";
import * as routes from "./wechat-menu.routes";

export const wechatMenuRouter = createRouter()
  .openapi(routes.putMenu, handlers.putMenu)
  .openapi(routes.getMenu, handlers.getMenu)
  .openapi(routes.deleteMenu, handlers.deleteMenu)
  .openapi(routes.addConditionalMenu, handlers.addConditionalMenu)
  .openapi(routes.deleteConditionalMenu, handlers.deleteConditionalMenu);
