import { createRoute, z } from "@hono/zod-openapi";
import { SCOPES } from "../../domain/scopes";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery, problems } from "../common";

const KeyId = z.string().regex(/^key_[0-9A-Z]{26}$/, "must be an API key id (key_…)");

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, to tell keys apart" }),
    mode: z.enum(["live", "test"]),
    scopes: z.array(z.string()),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiKey");

export const createKey = createRoute({
  method: "post",
  path: "/v1/keys",
  tags: ["API keys"],
  summary: "Create an API key (shown once)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              name: z.string().trim().min(1).max(100),
              scopes: z.array(z.enum(SCOPES)).min(1),
              mode: z.enum(["live", "test"]).default("live").openapi({
                description: "`test` keys only ever send through the sandbox provider",
              }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description:
        "Created; `key` is shown only in this response (a replay for the same Idempotency-Key returns the record with `key: null`)",
      content: {
        "application/json": { schema: ApiKeySchema.extend({ key: z.string().nullable() }) },
      },
    },
    ...problems(400, 401, 403, 415),
  },
});

export const listKeys = createRoute({
  method: "get",
  path: "/v1/keys",
  tags: ["API keys"],
  summary: "List API keys (never their secrets)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { query: z.object({ limit: LimitQuery, cursor: KeyId.optional() }) },
  responses: {
    200: {
      description: "A page of keys",
      content: {
        "application/json": {
          schema: z.object({ data: z.array(ApiKeySchema), next_cursor: z.string().nullable() }),
        },
      },
    },
    ...problems(400, 401, 403),
  },
});

export const revokeKey = createRoute({
  method: "delete",
  path: "/v1/keys/{id}",
  tags: ["API keys"],
  summary: "Revoke an API key (effective everywhere within 10 s)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: z.object({ id: KeyId }) },
  responses: {
    204: { description: "Revoked" },
    ...problems(400, 401, 403, 404),
  },
});
