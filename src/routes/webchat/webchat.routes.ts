import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders } from "../common";
import { jsonBody, jsonResponse, problems } from "../openapi-helpers";

const tags = ["Desk"];
const KeyParams = z.object({
  id: z.string().regex(/^wk_[0-9A-Za-z]{20,40}$/, "must be a widget key (wk_…)"),
});
const Origins = z
  .array(z.string().max(200))
  .min(1)
  .max(20)
  .openapi({
    description: "Page origins the widget may run on: `scheme://host[:port]`, no path",
    example: ["https://www.example.com"],
  });

export const WidgetKeySchema = z
  .object({
    id: z.string().openapi({ description: "The public key for the page's script tag (`wk_…`)" }),
    name: z.string(),
    allowed_origins: z.array(z.string()),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("WidgetKey");

const WithSecret = WidgetKeySchema.extend({
  secret: z.string().nullable().openapi({
    description:
      "The HS256 secret (`wks_…`) your site signs visitors' identity tokens with, shown only in this response; a replay has `null`",
  }),
});

export const createWidgetKey = createRoute({
  method: "post",
  path: "/v1/desk/widget-keys",
  operationId: "createWidgetKey",
  tags,
  summary: "Create a web chat widget key (its identity secret is shown once)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100).default("Website"),
          allowed_origins: Origins,
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(WithSecret, "Created"),
    ...problems(400, 401, 403, 415, 422, 429),
  },
});

export const listWidgetKeys = createRoute({
  method: "get",
  path: "/v1/desk/widget-keys",
  operationId: "listWidgetKeys",
  tags,
  summary: "The tenant's web chat widget keys, newest first",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: jsonResponse(z.object({ data: z.array(WidgetKeySchema) }), "Up to 100 keys"),
    ...problems(401, 403, 429),
  },
});

export const updateWidgetKey = createRoute({
  method: "patch",
  path: "/v1/desk/widget-keys/{id}",
  operationId: "updateWidgetKey",
  tags,
  summary: "Rename a widget key or change its allowed origins",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: KeyParams,
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100).optional(),
          allowed_origins: Origins.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(WidgetKeySchema, "The key"),
    ...problems(400, 401, 403, 404, 415, 429),
  },
});

export const revokeWidgetKey = createRoute({
  method: "delete",
  path: "/v1/desk/widget-keys/{id}",
  operationId: "revokeWidgetKey",
  tags,
  summary: "Revoke a widget key: its pages connect no more (within 10 seconds)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: KeyParams },
  responses: {
    204: { description: "Revoked" },
    ...problems(400, 401, 403, 404, 429),
  },
});
