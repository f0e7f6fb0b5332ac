import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/carriers/providers";
import type * as routes from "./providers.routes";

function present(env: Env, row: service.ProviderRow) {
  return {
    provider: row.provider,
    enabled: row.enabled,
    config: row.config,
    has_credentials: row.secretCiphertext !== null,
    callback_urls: service.callbackUrls(env, row),
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

export const listProviders: RouteHandler<typeof routes.listProviders, AppEnv> = async (c) => {
  const rows = await service.listProviders(c.env, c.get("caller"));
  return c.json({ data: rows.map((row) => present(c.env, row)), next_cursor: null }, 200);
};

export const getProvider: RouteHandler<typeof routes.getProvider, AppEnv> = async (c) => {
  const row = await service.getProvider(c.env, c.get("caller"), c.req.valid("param").provider);
  return c.json(present(c.env, row), 200);
};

export const putProvider: RouteHandler<typeof routes.putProvider, AppEnv> = async (c) => {
  const { row, created } = await service.putProvider(
    c.env,
    c.get("caller"),
    c.req.valid("param").provider,
    c.req.valid("json"),
  );
  return created ? c.json(present(c.env, row), 201) : c.json(present(c.env, row), 200);
};

export const deleteProvider: RouteHandler<typeof routes.deleteProvider, AppEnv> = async (c) => {
  await service.deleteProvider(c.env, c.get("caller"), c.req.valid("param").provider);
  return c.body(null, 204);
};

export const rotateHookToken: RouteHandler<typeof routes.rotateHookToken, AppEnv> = async (c) => {
  const row = await service.rotateHookToken(c.env, c.get("caller"), c.req.valid("param").provider);
  return c.json(present(c.env, row), 200);
};
