import { createRoute, z } from "@hono/zod-openapi";
import { MAX_DISPATCH_SHARDS } from "../../domain/dispatch-shards";
import { requirePlatformKey } from "../../middleware/platform-key";
import { IdempotencyHeaders, LimitQuery } from "../common";
import { ApiKeySchema } from "../keys/keys.routes";
import { conflict, jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";
import { Amount, Country, TenantSchema } from "../tenant/tenant.routes";

export const platformAuth = [{ platformKey: [] }];

const TAG = "Platform";

const TenantId = z.string().regex(/^tnt_[0-9A-Za-z]+$/, "must be a tenant id (tnt_…)");

const SendRate = z.number().int().min(0).max(10_000).openapi({
  description: "Messages per second the tenant's dispatcher releases; 0 pauses",
});

export const PlatformTenantSchema = TenantSchema.extend({
  suspended_at: z.string().nullable().openapi({
    description: "When the platform admin suspended it: its keys and sessions get 403",
  }),
  dispatch_shards: z.number().int().openapi({
    description:
      "Dispatcher objects sharing the tenant's traffic by recipient (1: one, as by default)",
  }),
  previous_dispatch_shards: z.number().int().nullable().openapi({
    description:
      "The number before the last change, whose shards may still send what they held; null once the change is finished",
  }),
  send_log: z.string().openapi({
    description:
      "The send-log partition (a D1 binding: `DB` or `SEND_LOG_*`) that takes the tenant's new messages",
  }),
  send_log_spread: z.array(z.string()).openapi({
    description:
      "Further partitions that take the tenant's new messages besides `send_log`: dispatcher shard k logs to `[send_log, ...send_log_spread][k mod n]` (empty: none)",
  }),
  previous_send_logs: z.array(z.string()).openapi({
    description:
      "Partitions the tenant was on before, which keep its older messages; reads take them with the current one",
  }),
}).openapi("PlatformTenant");

const CreatedTenantSchema = z
  .object({
    tenant: PlatformTenantSchema,
    owner: z.object({
      id: z.string(),
      email: z.string(),
      role: z.literal("owner"),
      invitation_url: z.string().nullable().openapi({
        description:
          "Hand it to the owner: it sets their password (7 days, once). null in an Idempotency-Key replay",
      }),
      invitation_expires_at: z.string(),
    }),
    api_key: ApiKeySchema.extend({
      key: z.string().nullable().openapi({
        description: "A live key with `admin`, shown only here (null in a replay)",
      }),
    }),
  })
  .openapi("CreatedTenant");

const idParam = { params: z.object({ id: TenantId }) };

export const createTenant = createRoute({
  method: "post",
  path: "/v1/platform/tenants",
  operationId: "createPlatformTenant",
  tags: [TAG],
  summary: "Create a tenant, its invited owner and its first API key",
  description:
    "One batch: the tenant, its sandbox provider, its owner (role `owner`, invited: no mail is sent, pass the link on) and a live API key with `admin`, recorded as `tenant.create` in the tenant's audit log.",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100),
          home_country: Country,
          allowed_countries: z.array(Country).min(1).max(250).optional().openapi({
            description: "Defaults to the home country alone",
          }),
          send_rate: SendRate.optional().openapi({ description: "Defaults to 50" }),
          currency: z
            .string()
            .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code, e.g. CNY")
            .optional()
            .openapi({ description: "Defaults to USD" }),
          owner_email: z.string().trim().toLowerCase().pipe(z.email().max(254)),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(CreatedTenantSchema, "Created"),
    ...problems(400, 401, 415, 422),
    ...conflict("A user with the owner's email address exists already"),
  },
});

export const listTenants = createRoute({
  method: "get",
  path: "/v1/platform/tenants",
  operationId: "listPlatformTenants",
  tags: [TAG],
  summary: "List tenants, newest first",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: { query: z.object({ limit: LimitQuery, cursor: TenantId.optional() }) },
  responses: {
    200: jsonResponse(listOf(PlatformTenantSchema), "A page of tenants"),
    ...problems(400, 401),
  },
});

export const getTenant = createRoute({
  method: "get",
  path: "/v1/platform/tenants/{id}",
  operationId: "getPlatformTenant",
  tags: [TAG],
  summary: "One tenant",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: idParam,
  responses: {
    200: jsonResponse(PlatformTenantSchema, "The tenant"),
    ...problems(400, 401, 404),
  },
});

export const updateTenant = createRoute({
  method: "patch",
  path: "/v1/platform/tenants/{id}",
  operationId: "updatePlatformTenant",
  tags: [TAG],
  summary: "Change a tenant's platform-managed settings",
  description:
    "The settings the platform admin sets for a tenant: its name, where it may send (`allowed_countries`) and how fast (`send_rate`). The tenant changes its other settings itself (`PATCH /v1/tenant`). Recorded as `tenant.update`.",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: {
    ...idParam,
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100).optional(),
          allowed_countries: z.array(Country).min(1).max(250).optional(),
          send_rate: SendRate.optional(),
          dispatch_shards: z.number().int().min(1).max(MAX_DISPATCH_SHARDS).optional().openapi({
            description:
              "Split the tenant's dispatch over this many objects by recipient hash (its send rate shared equally, a recipient's messages kept in order on one). Nothing in flight moves: old shards send what they hold, and a recipient's new messages follow theirs there until they are sent. 409 while a previous change still drains; the same number again then finishes it. 422 with a monthly budget or a prepaid balance. Recorded as `tenant.dispatch_shards`",
          }),
          send_log: z.string().min(1).max(64).optional().openapi({
            description:
              "Put the tenant's new messages on this send-log partition (a configured D1 binding: `DB` or `SEND_LOG_*`; else 422). Its messages so far stay where they are and are still read with the new ones; the partition left joins `previous_send_logs`. Recorded as `tenant.send_log`",
          }),
          send_log_spread: z
            .array(z.string().min(1).max(64))
            .max(MAX_DISPATCH_SHARDS - 1)
            .optional()
            .openapi({
              description:
                "For a tenant too busy for one D1 database: further partitions that take its new messages besides `send_log`, its dispatcher shards logging to `[send_log, ...send_log_spread][k mod n]` (so set `dispatch_shards` to at least as many); `[]` ends the spread. Each must be configured (else 422). A partition that stops taking new messages joins `previous_send_logs`. Recorded as `tenant.send_log`",
            }),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(PlatformTenantSchema, "The new settings"),
    ...problems(400, 401, 404, 409, 415, 422),
  },
});

export const suspendTenant = createRoute({
  method: "post",
  path: "/v1/platform/tenants/{id}/suspend",
  operationId: "suspendPlatformTenant",
  tags: [TAG],
  summary: "Suspend a tenant",
  description:
    "Its API keys and dashboard sessions get 403 `tenant-suspended` (at once for sending; other requests within 10 s) and its dispatcher releases nothing; what it had accepted waits, and goes on resume. Recorded as `tenant.suspend`; suspending a suspended tenant changes nothing.",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: idParam,
  responses: {
    200: jsonResponse(PlatformTenantSchema, "Suspended"),
    ...problems(400, 401, 404),
  },
});

export const resumeTenant = createRoute({
  method: "post",
  path: "/v1/platform/tenants/{id}/resume",
  operationId: "resumePlatformTenant",
  tags: [TAG],
  summary: "Resume a suspended tenant",
  description:
    "Its keys and sessions work again and its dispatcher releases what waited. Recorded as `tenant.resume`; resuming a tenant that is not suspended changes nothing.",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: idParam,
  responses: {
    200: jsonResponse(PlatformTenantSchema, "Resumed"),
    ...problems(400, 401, 404),
  },
});

const BalanceSchema = z
  .object({
    tenant_id: z.string(),
    balance: z.number().openapi({ description: "The prepaid balance after the top-up" }),
    currency: z.string(),
  })
  .openapi("TenantBalance");

export const topUpBalance = createRoute({
  method: "post",
  path: "/v1/platform/tenants/{id}/balance",
  operationId: "addToPlatformTenantBalance",
  tags: [TAG],
  summary: "Top up a tenant's prepaid balance",
  description:
    "Adds `amount` (in the tenant's currency) to its prepaid balance; the first top-up gives the tenant a balance, which from then on each live message's estimated cost draws down as it is accepted, and which no send may take below zero (a 422 `budget-exceeded` naming the balance). Recorded as `tenant.balance.top_up`. With an `Idempotency-Key`, the same key and amount within 24 h answer as the first time without adding again (header `Idempotent-Replayed: true`); another amount is a 422 `idempotency-key-reused`.",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: {
    ...idParam,
    headers: IdempotencyHeaders,
    body: jsonBody(z.object({ amount: Amount.openapi({ example: 100 }) }).strict()),
  },
  responses: {
    200: jsonResponse(BalanceSchema, "Topped up"),
    ...problems(400, 401, 404, 409, 415, 422),
  },
});

const ReencryptionSchema = z
  .object({
    scanned: z.number().int().openapi({ description: "Stored secrets read by this call" }),
    reencrypted: z.number().int().openapi({
      description:
        "Of those, rewritten under the current MASTER_KEY (they were under the previous one)",
    }),
    current: z.number().int().openapi({ description: "Already under the current MASTER_KEY" }),
    unreadable: z
      .array(
        z.object({
          table: z.string().openapi({ example: "provider_settings" }),
          id: z.string().openapi({ example: "prv_01J0000000000000000000000" }),
        }),
      )
      .openapi({
        description:
          "Secrets neither key opens, left unchanged: re-enter them (e.g. `PUT /v1/providers/{provider}`) before removing MASTER_KEY_PREVIOUS",
      }),
    next_cursor: z.string().nullable().openapi({
      description: "Pass it to the next call; null when every stored secret has been visited",
      example: "webhook_endpoints:",
    }),
  })
  .openapi("SecretReencryption");

export const reencryptSecrets = createRoute({
  method: "post",
  path: "/v1/platform/master-key/reencrypt",
  operationId: "rotateSecretsToMasterKey",
  tags: [TAG],
  summary: "Re-encrypt stored secrets under the current MASTER_KEY",
  description:
    "The last step of a MASTER_KEY rotation (`npm run rotate-master-key` calls it until `next_cursor` is null). Each call visits at most `limit` stored secrets of one table (carrier credentials, WeChat apps, webhook endpoints, WeChat SSO keys, web chat widget keys), rewrites those under `MASTER_KEY_PREVIOUS` under `MASTER_KEY`, and records `secrets.re_encrypt` in each affected tenant's audit log. Safe to repeat: secrets under the current key are left alone.",
  security: platformAuth,
  middleware: [requirePlatformKey] as const,
  request: {
    body: jsonBody(
      z
        .object({
          cursor: z.string().max(200).optional().openapi({
            description: "The `next_cursor` of the previous call; absent to start",
          }),
          limit: z.number().int().min(1).max(100).default(100).openapi({
            description: "Secrets visited by this call (at most 100)",
          }),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(ReencryptionSchema, "One batch visited"),
    ...problems(400, 401, 415),
  },
});
