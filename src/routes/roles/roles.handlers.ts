import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { PERMISSION_DESCRIPTIONS, PERMISSIONS } from "../../domain/permissions";
import * as service from "../../services/accounts/roles";
import { idempotencyKeyOf, idempotent } from "../../services/messaging/idempotency";
import { iso } from "../common";
import type * as routes from "./roles.routes";

function present(role: service.Role) {
  return {
    id: role.id,
    name: role.name,
    description: role.description,
    permissions: role.permissions,
    built_in: role.builtIn,
    created_at: iso(role.createdAt),
    updated_at: iso(role.updatedAt),
  };
}

export const listPermissions: RouteHandler<typeof routes.listPermissions, AppEnv> = (c) =>
  c.json(
    {
      data: PERMISSIONS.map((name) => ({ name, description: PERMISSION_DESCRIPTIONS[name] })),
      next_cursor: null,
    },
    200,
  );

export const listRoles: RouteHandler<typeof routes.listRoles, AppEnv> = async (c) => {
  const roles = await service.listRoles(c.env, c.get("caller"));
  return c.json({ data: roles.map(present), next_cursor: null }, 200);
};

export const getRole: RouteHandler<typeof routes.getRole, AppEnv> = async (c) => {
  const role = await service.getRole(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(role), 200);
};

export const createRole: RouteHandler<typeof routes.createRole, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/roles",
      key: idempotencyKeyOf(caller, c.req.valid("header")["idempotency-key"]),
      request: input,
    },
    async () => ({
      status: 201,
      body: present(await service.createRole(c.env, caller, input)),
    }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const updateRole: RouteHandler<typeof routes.updateRole, AppEnv> = async (c) => {
  const role = await service.updateRole(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  return c.json(present(role), 200);
};

export const deleteRole: RouteHandler<typeof routes.deleteRole, AppEnv> = async (c) => {
  await service.deleteRole(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};
