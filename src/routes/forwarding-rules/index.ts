import { createRouter } from "../router";
import * as handlers from "./forwarding-rules.handlers";
import * as routes from "./forwarding-rules.routes";

export const forwardingRulesRouter = createRouter()
  .openapi(routes.listForwardingRules, handlers.listForwardingRules)
  .openapi(routes.createForwardingRule, handlers.createForwardingRule)
  .openapi(routes.getForwardingRule, handlers.getForwardingRule)
  .openapi(routes.updateForwardingRule, handlers.updateForwardingRule)
  .openapi(routes.deleteForwardingRule, handlers.deleteForwardingRule);
