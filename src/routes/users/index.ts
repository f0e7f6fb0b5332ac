import { createRouter } from "../router";
import * as handlers from "./users.handlers";
import * as routes from "./users.routes";

export const usersRouter = createRouter()
  .openapi(routes.inviteUser, handlers.inviteUser)
  .openapi(routes.listUsers, handlers.listUsers)
  .openapi(routes.getUser, handlers.getUser)
  .openapi(routes.updateUser, handlers.updateUser)
  .openapi(routes.disableUser, handlers.disableUser)
  .openapi(routes.enableUser, handlers.enableUser)
  .openapi(routes.removeUser, handlers.removeUser)
  .openapi(routes.acceptInvitation, handlers.acceptInvitation);
