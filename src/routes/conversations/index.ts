import { createRouter } from "../router";
import * as handlers from "./conversations.handlers";
import * as routes from "./conversations.routes";

export const conversationsRouter = createRouter()
  .openapi(routes.listConversations, handlers.listConversations)
  .openapi(routes.getConversation, handlers.getConversation)
  .openapi(routes.listConversationMessages, handlers.listConversationMessages)
  .openapi(routes.sendConversationMessage, handlers.sendConversationMessage)
  .openapi(routes.markConversationRead, handlers.markConversationRead);
