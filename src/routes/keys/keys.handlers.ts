import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { effectiveRateLimit, type RateLimitRequest } from "../../domain/rate-limits";
import * as service from "../../services/accounts/api-keys";
import { idempotencyKeyOf, idempotent } from "../../services/messaging/idempotency";
import { iso } from "../common";
import type * as routes from "./keys.routes";

/** `rate_limit` as sent: `burst` may be left out. */
interface RateLimitBody {
  per_second: number;
  burst?: number;
}

function rateLimitOf(body: RateLimitBody): RateLimitRequest {
  return { perSecond: body.per_second, burst: body.burst };
}

export function present(row: service.ApiKeyRow) {
  const limit = effectiveRateLimit(row);
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    mode: row.mode,
    scopes: row.scopes,
    created_at: new Date(row.createdAt).toISOString(),
    revoked_at: iso(row.revokedAt),
    rate_limit: { per_second: limit.perSecond, burst: limit.burst },
  };
}

/** `key` is the secret, present only in the response that created it. */
type CreatedKey = ReturnType<typeof present> & { key: string | null };

export const createKey: RouteHandler<typeof routes.createKey, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/keys",
      key: idempotencyKeyOf(caller, c.req.valid("header")["idempotency-key"]),
      request: input,
    },
    async () => {
      const { rate_limit, mode, ...rest } = input;
      const { row, key } = await service.createApiKey(c.env, caller, {
        ...rest,
        mode: mode ?? caller.mode,
        rateLimit: rate_limit && rateLimitOf(rate_limit),
      });
      const body: CreatedKey = { ...present(row), key };
      return { status: 201, body };
    },
    // The secret is shown once: a replay returns the key's record without it.
    ({ key: _secret, ...record }) => ({ ...record, key: null }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listKeys: RouteHandler<typeof routes.listKeys, AppEnv> = async (c) => {
  const page = await service.listApiKeys(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const updateKey: RouteHandler<typeof routes.updateKey, AppEnv> = async (c) => {
  const { name, rate_limit } = c.req.valid("json");
  const row = await service.updateApiKey(c.env, c.get("caller"), c.req.valid("param").id, {
    name,
    rateLimit: rate_limit ? rateLimitOf(rate_limit) : rate_limit,
  });
  return c.json(present(row), 200);
};

export const revokeKey: RouteHandler<typeof routes.revokeKey, AppEnv> = async (c) => {
  await service.revokeApiKey(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};
