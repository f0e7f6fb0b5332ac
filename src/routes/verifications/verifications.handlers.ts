import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { defaultTemplates } from "../../services/verifications/default-templates";
import { verificationStats as statsOf } from "../../services/verifications/stats";
import * as service from "../../services/verifications/verifications";
import { once } from "../once";
import type * as routes from "./verifications.routes";

export const startVerification: RouteHandler<typeof routes.startVerification, AppEnv> = async (
  c,
) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await once(c, "POST /v1/verifications", input, async () => {
    const { row, code } = await service.startVerification(c.env, caller, input);
    // Only a test key sees the code: its messages never leave the sandbox.
    const body = {
      ...service.verificationView(row),
      ...(caller.mode === "test" ? { sandbox_code: code } : {}),
    };
    return { status: 201, body };
  });
  c.header("Location", `/v1/verifications/${response.body.id}`);
  return c.json(response.body, 201);
};

export const checkVerification: RouteHandler<typeof routes.checkVerification, AppEnv> = async (
  c,
) => {
  const { row, valid } = await service.checkVerification(
    c.env,
    c.get("caller"),
    c.req.valid("json"),
  );
  const view = service.verificationView(row);
  return c.json(
    { id: view.id, status: view.status, valid, attempts_left: view.attempts_left },
    200,
  );
};

export const getVerification: RouteHandler<typeof routes.getVerification, AppEnv> = async (c) => {
  const row = await service.getVerification(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(service.verificationView(row), 200);
};

export const cancelVerification: RouteHandler<typeof routes.cancelVerification, AppEnv> = async (
  c,
) => {
  const row = await service.cancelVerification(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(service.verificationView(row), 200);
};

export const verificationStats: RouteHandler<typeof routes.verificationStats, AppEnv> = async (
  c,
) => {
  const data = await statsOf(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data }, 200);
};

export const verificationTemplates: RouteHandler<
  typeof routes.verificationTemplates,
  AppEnv
> = async (c) => {
  const data = await defaultTemplates(c.env, c.get("caller").tenant.id);
  return c.json({ data }, 200);
};
