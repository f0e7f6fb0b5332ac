import { createRouter } from "../router";
import * as handlers from "./contacts.handlers";
import * as routes from "./contacts.routes";

export const contactsRouter = createRouter()
  .openapi(routes.createContact, handlers.createContact)
  .openapi(routes.listContacts, handlers.listContacts)
  .openapi(routes.getContact, handlers.getContact)
  .openapi(routes.updateContact, handlers.updateContact)
  .openapi(routes.deleteContact, handlers.deleteContact)
  .openapi(routes.unbindWeChat, handlers.unbindWeChat)
  .openapi(routes.createOAuthLink, handlers.createOAuthLink);
