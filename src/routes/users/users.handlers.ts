import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { settingsOf } from "../../config/settings";
import { acceptInvitation as accept } from "../../services/accounts/passwords";
import * as service from "../../services/accounts/users";
import { idempotencyKeyOf, idempotent } from "../../services/messaging/idempotency";
import type * as routes from "./users.routes";

function present(user: service.UserRecord) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    status: user.status,
    created_at: new Date(user.createdAt).toISOString(),
  };
}

/** `invitation_url` is a credential: present only in the response that made it. */
interface InvitedBody {
  user: ReturnType<typeof present>;
  invitation_url: string | null;
  invitation_expires_at: string;
}

export const inviteUser: RouteHandler<typeof routes.inviteUser, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/users",
      key: idempotencyKeyOf(caller, c.req.valid("header")["idempotency-key"]),
      request: input,
    },
    async () => {
      const invited = await service.inviteUser(
        c.env,
        caller,
        input,
        settingsOf(c.env).PUBLIC_BASE_URL,
      );
      const body: InvitedBody = {
        user: present(invited.user),
        invitation_url: invited.invitationUrl,
        invitation_expires_at: new Date(invited.expiresAt).toISOString(),
      };
      return { status: 201, body };
    },
    // The link is a credential, shown once like an API key: a replay answers without it.
    (body) => ({ ...body, invitation_url: null }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listUsers: RouteHandler<typeof routes.listUsers, AppEnv> = async (c) => {
  const page = await service.listUsers(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getUser: RouteHandler<typeof routes.getUser, AppEnv> = async (c) => {
  return c.json(
    present(await service.getUser(c.env, c.get("caller"), c.req.valid("param").id)),
    200,
  );
};

export const updateUser: RouteHandler<typeof routes.updateUser, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const user = await service.changeRole(c.env, c.get("caller"), id, c.req.valid("json").role);
  return c.json(present(user), 200);
};

export const disableUser: RouteHandler<typeof routes.disableUser, AppEnv> = async (c) => {
  const user = await service.setUserEnabled(c.env, c.get("caller"), c.req.valid("param").id, false);
  return c.json(present(user), 200);
};

export const enableUser: RouteHandler<typeof routes.enableUser, AppEnv> = async (c) => {
  const user = await service.setUserEnabled(c.env, c.get("caller"), c.req.valid("param").id, true);
  return c.json(present(user), 200);
};

export const removeUser: RouteHandler<typeof routes.removeUser, AppEnv> = async (c) => {
  await service.removeUser(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};

export const acceptInvitation: RouteHandler<typeof routes.acceptInvitation, AppEnv> = async (c) => {
  const user = await accept(c.env, c.req.valid("json"), {
    requestId: c.get("requestId"),
    ip: c.req.header("cf-connecting-ip") ?? null,
  });
  return c.json({ user: present(user) }, 200);
};
