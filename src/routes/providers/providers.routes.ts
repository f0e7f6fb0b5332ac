import { createRoute, z } from "@hono/zod-openapi";
import { PROVIDERS } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonBody, jsonResponse, problems, wholeList } from "../openapi-helpers";

const Params = z.object({
  provider: z.enum(PROVIDERS).openapi({ description: "sandbox, twilio, aliyun or tencent" }),
});

export const ProviderSchema = z
  .object({
    provider: z.enum(PROVIDERS),
    enabled: z.boolean(),
    config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).openapi({
      description: "The non-secret settings, as saved",
    }),
    has_credentials: z.boolean().openapi({
      description: "Credentials are write-only: they are never shown again",
    }),
    callback_urls: z.object({ status: z.string(), inbound: z.string() }).openapi({
      description:
        "Give these to the carrier: where its delivery receipts go (status) and where what subscribers send goes (inbound). The sandbox's inbound URL takes {from, to?, body} JSON, to play a phone locally",
    }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Provider");

const PutBody = z
  .object({
    enabled: z.boolean().optional(),
    config: z.record(z.string(), z.unknown()).openapi({
      description:
        "twilio: account_sid, messaging_service_sid or from; aliyun: access_key_id, sign_name, region; tencent: secret_id, sms_sdk_app_id, sign_name, region; each also base_url and timeout_ms",
    }),
    credentials: z.record(z.string(), z.unknown()).optional().openapi({
      description:
        "twilio: auth_token; aliyun: access_key_secret; tencent: secret_key. Encrypted at rest, never returned; leave out to keep the stored ones",
    }),
  })
  .strict();

export const listProviders = createRoute({
  method: "get",
  path: "/v1/providers",
  operationId: "listProviders",
  tags: ["Providers"],
  summary: "Your carriers' settings (never their credentials)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: jsonResponse(wholeList(ProviderSchema), "Every provider you have set up"),
    ...problems(401, 403, 429),
  },
});

export const getProvider = createRoute({
  method: "get",
  path: "/v1/providers/{provider}",
  operationId: "getProvider",
  tags: ["Providers"],
  summary: "One carrier's settings and callback URLs",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: Params },
  responses: {
    200: jsonResponse(ProviderSchema, "The settings"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const putProvider = createRoute({
  method: "put",
  path: "/v1/providers/{provider}",
  operationId: "upsertProvider",
  tags: ["Providers"],
  summary: "Set up a carrier, or change its settings",
  description:
    "Credentials are checked for shape, encrypted with AES-GCM under the deployment's master key and never returned by any endpoint. The answer includes the callback URLs (with this provider's hook token) to configure at the carrier.",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: Params,
    body: jsonBody(PutBody),
  },
  responses: {
    200: jsonResponse(ProviderSchema, "Updated"),
    201: jsonResponse(ProviderSchema, "Created"),
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

export const deleteProvider = createRoute({
  method: "delete",
  path: "/v1/providers/{provider}",
  operationId: "deleteProvider",
  tags: ["Providers"],
  summary: "Remove a carrier: routes skip it from now on",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: Params },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404, 429) },
});

export const rotateHookToken = createRoute({
  method: "post",
  path: "/v1/providers/{provider}/rotate-hook-token",
  operationId: "rotateProviderHookToken",
  tags: ["Providers"],
  summary: "A new hook token: callbacks with the old one are refused (everywhere within a minute)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: Params },
  responses: {
    200: jsonResponse(ProviderSchema, "The new callback URLs"),
    ...problems(400, 401, 403, 404, 429),
  },
});
