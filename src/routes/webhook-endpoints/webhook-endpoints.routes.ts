import { createRoute, z } from "@hono/zod-openapi";
import { WEBHOOK_EVENTS } from "../../domain/vocabulary";
import { MAX_WEBHOOK_URL_LENGTH } from "../../domain/webhook-urls";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const WebhookId = z.string().regex(/^whk_[0-9A-Z]{26}$/, "must be a webhook endpoint id (whk_…)");
const DeliveryId = z.string().regex(/^whd_[0-9A-Z]{26}$/, "must be a delivery id (whd_…)");

const EndpointParams = z.object({ id: WebhookId });

const EventName = z.enum(WEBHOOK_EVENTS).openapi({ description: "An event type" });

const WebhookUrl = z
  .string()
  .max(MAX_WEBHOOK_URL_LENGTH)
  .refine((url) => URL.canParse(url), "must be an absolute URL")
  .openapi({
    format: "uri",
    description:
      "https only; local, private, link-local, CGNAT and metadata hosts are refused (422). Redirects are never followed.",
    example: "https://example.com/hooks/relaybox",
  });

export const WebhookEndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(EventName),
    description: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("WebhookEndpoint");

const WithSecret = WebhookEndpointSchema.extend({
  secret: z.string().nullable().openapi({
    description:
      "The signing secret (`whsec_…`), shown only in this response; a replay for the same Idempotency-Key has `null`",
  }),
});

const AttemptSchema = z
  .object({
    at: z.string(),
    status_code: z.number().int().nullable().openapi({ description: "null when no response came" }),
    error: z.string().nullable(),
    latency_ms: z.number().int(),
  })
  .openapi("WebhookAttempt");

export const DeliverySchema = z
  .object({
    id: z.string(),
    endpoint_id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempt_count: z.number().int(),
    attempts: z.array(AttemptSchema).openapi({ description: "Every attempt, oldest first" }),
    next_attempt_at: z.string().nullable(),
    event: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The event as sent: `{id, type, created_at, data}`" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("WebhookDelivery");

const tags = ["Webhooks"];

export const createWebhook = createRoute({
  method: "post",
  path: "/v1/webhooks",
  operationId: "createWebhook",
  tags,
  summary: "Create a webhook endpoint (its secret is shown once)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          url: WebhookUrl,
          events: z
            .array(EventName)
            .min(1)
            .max(WEBHOOK_EVENTS.length * 2),
          description: z.string().trim().max(500).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(WithSecret, "Created"),
    ...problems(400, 401, 403, 415, 422, 429),
  },
});

export const listWebhooks = createRoute({
  method: "get",
  path: "/v1/webhooks",
  operationId: "listWebhooks",
  tags,
  summary: "List webhook endpoints (never their secrets)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { query: z.object({ limit: LimitQuery, cursor: WebhookId.optional() }) },
  responses: {
    200: jsonResponse(listOf(WebhookEndpointSchema), "A page of endpoints, newest first"),
    ...problems(400, 401, 403, 429),
  },
});

export const getWebhook = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}",
  operationId: "getWebhook",
  tags,
  summary: "Get a webhook endpoint",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: EndpointParams },
  responses: {
    200: jsonResponse(WebhookEndpointSchema, "The endpoint"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const deleteWebhook = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  operationId: "deleteWebhook",
  tags,
  summary: "Delete a webhook endpoint and its deliveries (pending ones are not sent)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: EndpointParams },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 429),
  },
});

export const rotateWebhookSecret = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  tags,
  summary: "Replace the signing secret (the old one stops at once; the new one is shown once)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: EndpointParams },
  responses: {
    200: jsonResponse(
      WebhookEndpointSchema.extend({ secret: z.string() }),
      "The endpoint with its new secret",
    ),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const listDeliveries = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  tags,
  summary: "List an endpoint's deliveries with every attempt",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: EndpointParams,
    query: z.object({
      limit: LimitQuery,
      cursor: DeliveryId.optional(),
      status: z.enum(["pending", "delivered", "failed"]).optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(DeliverySchema), "A page of deliveries, newest first"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const replayDelivery = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
  operationId: "replayWebhookDelivery",
  tags,
  summary: "Send a delivery again (same event id and body; a new 24 h series of attempts)",
  security: bearerAuth,
  // An event of the key's own mode's messages (the service keeps each key to its mode).
  middleware: [requireScope("admin", "test-mode")] as const,
  request: { params: z.object({ id: WebhookId, delivery_id: DeliveryId }) },
  responses: {
    202: jsonResponse(DeliverySchema, "Queued; the delivery is `pending` again"),
    ...problems(400, 401, 403, 404, 429),
  },
});
