import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { idempotent } from "../../services/messaging/idempotency";
import * as service from "../../services/webhooks/endpoints";
import { iso } from "../common";
import type * as routes from "./webhook-endpoints.routes";

function present(row: service.WebhookEndpointRow) {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

function presentDelivery(row: service.WebhookDeliveryRow) {
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    status: row.status,
    attempt_count: row.attemptCount,
    attempts: row.attempts.map((a) => ({
      at: new Date(a.at).toISOString(),
      status_code: a.statusCode,
      error: a.error,
      latency_ms: a.latencyMs,
    })),
    next_attempt_at: row.status === "pending" ? iso(row.nextAttemptAt) : null,
    event: JSON.parse(row.payload) as Record<string, unknown>,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

/** `secret` is present only in the response that created the endpoint. */
type CreatedEndpoint = ReturnType<typeof present> & { secret: string | null };

export const createWebhook: RouteHandler<typeof routes.createWebhook, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/webhooks",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => {
      const { row, secret } = await service.createWebhookEndpoint(c.env, caller, input);
      const body: CreatedEndpoint = { ...present(row), secret };
      return { status: 201, body };
    },
    // The secret is shown once: a replay returns the endpoint without it.
    ({ secret: _secret, ...record }) => ({ ...record, secret: null }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listWebhooks: RouteHandler<typeof routes.listWebhooks, AppEnv> = async (c) => {
  const page = await service.listWebhookEndpoints(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getWebhook: RouteHandler<typeof routes.getWebhook, AppEnv> = async (c) => {
  const row = await service.getWebhookEndpoint(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(row), 200);
};

export const deleteWebhook: RouteHandler<typeof routes.deleteWebhook, AppEnv> = async (c) => {
  await service.deleteWebhookEndpoint(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};

export const rotateWebhookSecret: RouteHandler<typeof routes.rotateWebhookSecret, AppEnv> = async (
  c,
) => {
  const { row, secret } = await service.rotateWebhookSecret(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
  );
  return c.json({ ...present(row), secret }, 200);
};

export const listDeliveries: RouteHandler<typeof routes.listDeliveries, AppEnv> = async (c) => {
  const page = await service.listDeliveries(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    c.req.valid("query"),
  );
  return c.json({ data: page.data.map(presentDelivery), next_cursor: page.nextCursor }, 200);
};

export const replayDelivery: RouteHandler<typeof routes.replayDelivery, AppEnv> = async (c) => {
  const { id, delivery_id } = c.req.valid("param");
  const row = await service.replayDelivery(c.env, c.get("caller"), id, delivery_id);
  return c.json(presentDelivery(row), 202);
};
