import { createRouter } from "../router";
import * as handlers from "./wechat-templates.handlers";
import * as routes from "./wechat-templates.routes";

export const wechatTemplatesRouter = createRouter()
  .openapi(routes.listTemplates, handlers.listTemplates)
  .openapi(routes.addTemplate, handlers.addTemplate)
  .openapi(routes.deleteTemplate, handlers.deleteTemplate);
