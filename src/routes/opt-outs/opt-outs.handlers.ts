import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/inbound/opt-outs";
import { once } from "../once";
import type * as routes from "./opt-outs.routes";

export const listOptOuts: RouteHandler<typeof routes.listOptOuts, AppEnv> = async (c) => {
  const page = await service.listOptOuts(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(service.optOutView), next_cursor: page.nextCursor }, 200);
};

export const createOptOut: RouteHandler<typeof routes.createOptOut, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const response = await once(c, "POST /v1/opt-outs", input, async () => {
    const { created, row } = await service.addOptOut(c.env, c.get("caller"), input);
    return { status: created ? 201 : 200, body: service.optOutView(row) };
  });
  return response.status === 201 ? c.json(response.body, 201) : c.json(response.body, 200);
};

export const deleteOptOut: RouteHandler<typeof routes.deleteOptOut, AppEnv> = async (c) => {
  await service.removeOptOut(c.env, c.get("caller"), c.req.valid("param").phone);
  return c.body(null, 204);
};
