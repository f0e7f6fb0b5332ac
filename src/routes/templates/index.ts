import { createRouter } from "../router";
import * as handlers from "./templates.handlers";
import * as routes from "./templates.routes";

export const templatesRouter = createRouter()
  .openapi(routes.createTemplate, handlers.createTemplate)
  .openapi(routes.listTemplates, handlers.listTemplates)
  .openapi(routes.getTemplate, handlers.getTemplate)
  .openapi(routes.updateTemplate, handlers.updateTemplate)
  .openapi(routes.deleteTemplate, handlers.deleteTemplate)
  .openapi(routes.submitTemplate, handlers.submitTemplate)
  .openapi(routes.approveTemplate, handlers.approveTemplate)
  .openapi(routes.rejectTemplate, handlers.rejectTemplate)
  .openapi(routes.getProviderCodes, handlers.getProviderCodes)
  .openapi(routes.putProviderCodes, handlers.putProviderCodes);
