import { createRoute, z } from "@hono/zod-openapi";
import { isDestination } from "../../domain/routing";
import { PROVIDERS } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders } from "../common";
import { jsonBody, jsonResponse, problems, wholeList } from "../openapi-helpers";

const RouteProvider = z
  .object({
    provider: z.enum(PROVIDERS),
    priority: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(1)
      .openapi({ description: "1 is tried first" }),
    weight: z.number().int().min(0).max(1000).default(1).openapi({
      description: "Within one priority, the share of first attempts",
    }),
  })
  .strict();

export const RouteSchema = z
  .object({
    id: z.string(),
    destination: z.string(),
    providers: z.array(
      z.object({ provider: z.string(), priority: z.number(), weight: z.number() }),
    ),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Route");

export const listRoutes = createRoute({
  method: "get",
  path: "/v1/routes",
  operationId: "listRoutes",
  tags: ["Routing"],
  summary: "Your routing rules",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: jsonResponse(wholeList(RouteSchema), "Every rule"),
    ...problems(401, 403, 429),
  },
});

export const putRoute = createRoute({
  method: "post",
  path: "/v1/routes",
  operationId: "upsertRoute",
  tags: ["Routing"],
  summary: "Set the providers for a destination (replaces the rule there is)",
  description:
    "A destination is a country (`CN`) or an E.164 prefix (`+8613`); the longest matching prefix wins over the country. Providers are tried by priority, split by weight within one; only providers able to send a message are tried for it (Aliyun and Tencent send approved templates only). A retryable failure moves to the next provider; no answer at all retries the same one. Without a rule, every provider you have set up is a candidate (Twilio, Aliyun, Tencent, then the sandbox).",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          destination: z
            .string()
            .refine(isDestination, "must be an ISO country (CN) or an E.164 prefix (+8613)"),
          providers: z
            .array(RouteProvider)
            .min(1)
            .max(4)
            .refine(
              (list) => new Set(list.map((p) => p.provider)).size === list.length,
              "each provider at most once",
            ),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(RouteSchema, "Replaced"),
    201: jsonResponse(RouteSchema, "Created"),
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
});

export const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/routes/{id}",
  operationId: "deleteRoute",
  tags: ["Routing"],
  summary: "Delete a routing rule",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: z.object({ id: z.string().regex(/^rte_[0-9A-Z]{26}$/, "a route id") }) },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 429) },
});
