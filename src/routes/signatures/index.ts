import { createRouter } from "../router";
import * as handlers from "./signatures.handlers";
import * as routes from "./signatures.routes";

export const signaturesRouter = createRouter()
  .openapi(routes.createSignature, handlers.createSignature)
  .openapi(routes.listSignatures, handlers.listSignatures)
  .openapi(routes.getSignature, handlers.getSignature)
  .openapi(routes.deleteSignature, handlers.deleteSignature)
  .openapi(routes.submitSignature, handlers.submitSignature)
  .openapi(routes.approveSignature, handlers.approveSignature)
  .openapi(routes.rejectSignature, handlers.rejectSignature)
  .openapi(routes.setDefaultSignature, handlers.setDefaultSignature);
