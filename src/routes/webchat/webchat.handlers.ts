import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { idempotent } from "../../services/messaging/idempotency";
import * as service from "../../services/webchat/widget-keys";
import type * as routes from "./webchat.routes";

function present(row: service.WidgetKeyRow) {
  return {
    id: row.id,
    name: row.name,
    allowed_origins: row.allowedOrigins,
    created_at: new Date(row.createdAt).toISOString(),
    revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
  };
}

type Created = ReturnType<typeof present> & { secret: string | null };

export const createWidgetKey: RouteHandler<typeof routes.createWidgetKey, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/desk/widget-keys",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => {
      const { row, secret } = await service.createWidgetKey(c.env, caller, {
        name: input.name,
        allowedOrigins: input.allowed_origins,
      });
      const body: Created = { ...present(row), secret };
      return { status: 201, body };
    },
    ({ secret: _secret, ...record }) => ({ ...record, secret: null }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listWidgetKeys: RouteHandler<typeof routes.listWidgetKeys, AppEnv> = async (c) => {
  const rows = await service.listWidgetKeys(c.env, c.get("caller"));
  return c.json({ data: rows.map(present) }, 200);
};

export const updateWidgetKey: RouteHandler<typeof routes.updateWidgetKey, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  const row = await service.updateWidgetKey(c.env, c.get("caller"), c.req.valid("param").id, {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.allowed_origins !== undefined ? { allowedOrigins: body.allowed_origins } : {}),
  });
  return c.json(present(row), 200);
};

export const revokeWidgetKey: RouteHandler<typeof routes.revokeWidgetKey, AppEnv> = async (c) => {
  await service.revokeWidgetKey(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};
