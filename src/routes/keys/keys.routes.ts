import { createRoute, z } from "@hono/zod-openapi";
import { PERMISSIONS } from "../../domain/permissions";
import { burstProblem, RATE_LIMIT_BOUNDS, requestedRateLimit } from "../../domain/rate-limits";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const KeyId = z.string().regex(/^key_[0-9A-Z]{26}$/, "must be an API key id (key_…)");

const KeyName = z.string().trim().min(1).max(100);

/** Rules across fields run only on fields that are each valid, so one mistake is one error. */
const onlyIfValidSoFar = (payload: { issues: readonly unknown[] }) => payload.issues.length === 0;

const { perSecond: PER_SECOND, burst: BURST } = RATE_LIMIT_BOUNDS;

export const RateLimitSchema = z
  .object({
    per_second: z.number().int().openapi({ description: "Requests per second, sustained" }),
    burst: z.number().int().openapi({ description: "Requests allowed at once" }),
  })
  .openapi("RateLimit", {
    description:
      "The key's request limit in force (its own, or the default of 200/s, bursts of 400); over it → 429 with Retry-After",
  });

const RateLimitInput = z
  .object({
    per_second: z.number().int().min(PER_SECOND.min).max(PER_SECOND.max),
    burst: z
      .number()
      .int()
      .min(PER_SECOND.min)
      .max(BURST.max)
      .optional()
      .openapi({ description: "At least `per_second`; defaults to twice `per_second`" }),
  })
  .strict()
  .superRefine(
    (input, ctx) => {
      const problem = burstProblem(
        requestedRateLimit({ perSecond: input.per_second, burst: input.burst }),
      );
      if (problem) {
        ctx.addIssue({ code: "custom", path: ["burst"], message: problem });
      }
    },
    { when: onlyIfValidSoFar },
  )
  .openapi("RateLimitInput", {
    description: "A key's own request limit; a key without one gets 200/s, bursts of 400",
  });

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, to tell keys apart" }),
    mode: z.enum(["live", "test"]),
    scopes: z.array(z.string()),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
    rate_limit: RateLimitSchema,
  })
  .openapi("ApiKey");

export const createKey = createRoute({
  method: "post",
  path: "/v1/keys",
  operationId: "createApiKey",
  tags: ["API keys"],
  summary: "Create an API key (shown once)",
  security: bearerAuth,
  middleware: [requireScope("admin", "test-mode")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          name: KeyName,
          scopes: z.array(z.enum(PERMISSIONS)).min(1),
          mode: z.enum(["live", "test"]).optional().openapi({
            description:
              "`test` keys only ever send through the sandbox provider. Defaults to the mode of the key making the request; a test key creates only test keys.",
          }),
          rate_limit: RateLimitInput.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(
      ApiKeySchema.extend({ key: z.string().nullable() }),
      "Created; `key` is shown only in this response (a replay for the same Idempotency-Key returns the record with `key: null`)",
    ),
    ...problems(400, 401, 403, 415, 429),
  },
});

export const listKeys = createRoute({
  method: "get",
  path: "/v1/keys",
  operationId: "listApiKeys",
  tags: ["API keys"],
  summary: "List API keys (never their secrets)",
  security: bearerAuth,
  middleware: [requireScope("admin", "test-mode")] as const,
  request: { query: z.object({ limit: LimitQuery, cursor: KeyId.optional() }) },
  responses: {
    200: jsonResponse(listOf(ApiKeySchema), "A page of keys"),
    ...problems(400, 401, 403, 429),
  },
});

export const revokeKey = createRoute({
  method: "delete",
  path: "/v1/keys/{id}",
  operationId: "revokeApiKey",
  tags: ["API keys"],
  summary: "Revoke an API key (effective everywhere within 10 s)",
  security: bearerAuth,
  middleware: [requireScope("admin", "test-mode")] as const,
  request: { params: z.object({ id: KeyId }) },
  responses: {
    204: { description: "Revoked" },
    ...problems(400, 401, 403, 404, 429),
  },
});

export const updateKey = createRoute({
  method: "patch",
  path: "/v1/keys/{id}",
  operationId: "updateApiKey",
  tags: ["API keys"],
  summary: "Rename a key or change its request limit (effective everywhere within 10 s)",
  description:
    "Send at least one field. `rate_limit: null` puts the key back on the default limit. A revoked key can't be changed (409).",
  security: bearerAuth,
  middleware: [requireScope("admin", "test-mode")] as const,
  request: {
    params: z.object({ id: KeyId }),
    body: jsonBody(
      z
        .object({
          name: KeyName.optional(),
          rate_limit: RateLimitInput.nullable().optional(),
        })
        .strict()
        .refine((body) => Object.keys(body).length > 0, {
          message: "send at least one of `name` and `rate_limit`",
          when: onlyIfValidSoFar,
        })
        .openapi({ minProperties: 1 }),
    ),
  },
  responses: {
    200: jsonResponse(ApiKeySchema, "The key as changed"),
    ...problems(400, 401, 403, 404, 415, 429),
    ...conflict("The key has been revoked, and a revoked key can't be changed"),
  },
});
