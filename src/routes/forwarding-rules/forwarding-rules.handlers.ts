import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/inbound/forwarding-rules";
import { idempotencyKeyOf, idempotent } from "../../services/messaging/idempotency";
import { iso } from "../common";
import type * as routes from "./forwarding-rules.routes";

function present(row: service.ForwardingRuleRow) {
  return {
    id: row.id,
    match: row.match,
    keyword: row.keyword,
    target_type: row.targetType,
    target: row.target,
    created_at: iso(row.createdAt) ?? "",
    updated_at: iso(row.updatedAt) ?? "",
  };
}

export const listForwardingRules: RouteHandler<typeof routes.listForwardingRules, AppEnv> = async (
  c,
) => {
  const rows = await service.listForwardingRules(c.env, c.get("caller"));
  return c.json({ data: rows.map(present), next_cursor: null }, 200);
};

export const getForwardingRule: RouteHandler<typeof routes.getForwardingRule, AppEnv> = async (
  c,
) => {
  const row = await service.getForwardingRule(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(row), 200);
};

export const createForwardingRule: RouteHandler<
  typeof routes.createForwardingRule,
  AppEnv
> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/forwarding-rules",
      key: idempotencyKeyOf(caller, c.req.valid("header")["idempotency-key"]),
      request: input,
    },
    async () => ({
      status: 201,
      body: present(await service.createForwardingRule(c.env, caller, input)),
    }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const updateForwardingRule: RouteHandler<
  typeof routes.updateForwardingRule,
  AppEnv
> = async (c) => {
  const row = await service.updateForwardingRule(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  return c.json(present(row), 200);
};

export const deleteForwardingRule: RouteHandler<
  typeof routes.deleteForwardingRule,
  AppEnv
> = async (c) => {
  await service.deleteForwardingRule(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};
