import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/inbound/auto-reply-rules";
import { idempotencyKeyOf, idempotent } from "../../services/messaging/idempotency";
import { listRuleQueries as listQueries } from "../../services/webhooks/query-log";
import { iso } from "../common";
import type * as routes from "./auto-replies.routes";

function present(row: service.SmsAutoReplyRow) {
  return {
    id: row.id,
    match: row.match as service.SmsKeywordMatch,
    keyword: row.keyword ?? "",
    reply: row.reply as service.SmsReply,
    priority: row.priority,
    active_window: row.activeWindow ?? null,
    created_at: iso(row.createdAt) ?? "",
  };
}

export const listAutoReplies: RouteHandler<typeof routes.listAutoReplies, AppEnv> = async (c) => {
  const rows = await service.listSmsAutoReplies(c.env, c.get("caller"));
  return c.json({ data: rows.map(present), next_cursor: null }, 200);
};

export const getAutoReply: RouteHandler<typeof routes.getAutoReply, AppEnv> = async (c) => {
  const row = await service.getSmsAutoReply(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(row), 200);
};

export const createAutoReply: RouteHandler<typeof routes.createAutoReply, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/auto-replies",
      key: idempotencyKeyOf(caller, c.req.valid("header")["idempotency-key"]),
      request: input,
    },
    async () => ({
      status: 201,
      body: present(await service.createSmsAutoReply(c.env, caller, input)),
    }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const updateAutoReply: RouteHandler<typeof routes.updateAutoReply, AppEnv> = async (c) => {
  const row = await service.updateSmsAutoReply(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  return c.json(present(row), 200);
};

export const deleteAutoReply: RouteHandler<typeof routes.deleteAutoReply, AppEnv> = async (c) => {
  await service.deleteSmsAutoReply(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};

export const listRuleQueries: RouteHandler<typeof routes.listRuleQueries, AppEnv> = async (c) => {
  const page = await listQueries(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    c.req.valid("query"),
  );
  return c.json(
    {
      data: page.data.map((row) => ({
        id: row.id,
        rule_id: row.ruleId ?? "",
        channel: row.channel,
        app_id: row.appId,
        endpoint_id: row.endpointId,
        status: row.status,
        latency_ms: row.latencyMs,
        reason: row.reason,
        asked_at: new Date(row.askedAt).toISOString(),
      })),
      next_cursor: page.nextCursor,
    },
    200,
  );
};
