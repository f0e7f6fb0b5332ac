import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/carriers/routing-rules";
import { once } from "../once";
import type * as routes from "./routing-rules.routes";

function present(row: service.RouteRow) {
  return {
    id: row.id,
    destination: row.destination,
    providers: row.providers,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

export const listRoutes: RouteHandler<typeof routes.listRoutes, AppEnv> = async (c) => {
  const rows = await service.listRoutes(c.env, c.get("caller"));
  return c.json({ data: rows.map(present), next_cursor: null }, 200);
};

export const putRoute: RouteHandler<typeof routes.putRoute, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const { status, body } = await once(c, "POST /v1/routes", input, async () => {
    const { row, created } = await service.putRoute(c.env, c.get("caller"), input);
    return { status: created ? 201 : 200, body: present(row) };
  });
  return status === 201 ? c.json(body, 201) : c.json(body, 200);
};

export const deleteRoute: RouteHandler<typeof routes.deleteRoute, AppEnv> = async (c) => {
  await service.deleteRoute(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};
