import { createRouter } from "../router";
import * as handlers from "./verifications.handlers";
import * as routes from "./verifications.routes";

// `check`, `stats` and `templates` before `{id}`, so neither is read as an id.
export const verificationsRouter = createRouter()
  .openapi(routes.startVerification, handlers.startVerification)
  .openapi(routes.checkVerification, handlers.checkVerification)
  .openapi(routes.verificationStats, handlers.verificationStats)
  .openapi(routes.verificationTemplates, handlers.verificationTemplates)
  .openapi(routes.getVerification, handlers.getVerification)
  .openapi(routes.cancelVerification, handlers.cancelVerification);
