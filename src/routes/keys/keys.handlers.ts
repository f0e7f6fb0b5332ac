import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../middleware/context";
import * as service from "../../services/api-keys";
import { iso } from "../common";
import type * as routes from "./keys.routes";

function present(row: service.ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    mode: row.mode,
    scopes: row.scopes,
    created_at: new Date(row.createdAt).toISOString(),
    revoked_at: iso(row.revokedAt),
  };
}

export const createKey: RouteHandler<typeof routes.createKey, AppEnv> = async (c) => {
  const { row, key } = await service.createApiKey(c.env, c.get("caller"), c.req.valid("json"));
  return c.json({ ...present(row), key }, 201);
};

export const listKeys: RouteHandler<typeof routes.listKeys, AppEnv> = async (c) => {
  const page = await service.listApiKeys(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const revokeKey: RouteHandler<typeof routes.revokeKey, AppEnv> = async (c) => {
  await service.revokeApiKey(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};
