import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../app-env";
import type { RequestOrigin } from "../../domain/caller";
import { fromMicros } from "../../domain/pricing";
import { ApiError } from "../../lib/problem";
import { invitationLink } from "../../services/accounts/invitations";
import * as service from "../../services/accounts/platform-tenants";
import * as reencryption from "../../services/accounts/secret-reencryption";
import type { TenantRow } from "../../services/accounts/tenants";
import { idempotent } from "../../services/messaging/idempotency";
import { iso } from "../common";
import { present as presentKey } from "../keys/keys.handlers";
import { present as presentSettings } from "../tenant/tenant.handlers";
import type * as routes from "./platform.routes";

/** Idempotency records of the platform's creates are kept apart from every tenant's. */
const PLATFORM_SCOPE = "platform";

function present(row: TenantRow) {
  return {
    ...presentSettings(row),
    suspended_at: iso(row.suspendedAt),
    dispatch_shards: row.dispatchShards,
    previous_dispatch_shards: row.previousDispatchShards ?? null,
    send_log: row.sendLog,
    send_log_spread: row.sendLogSpread ?? [],
    previous_send_logs: row.previousSendLogs ?? [],
  };
}

function originOf(c: Context<AppEnv>): RequestOrigin {
  return { requestId: c.get("requestId"), ip: c.req.header("cf-connecting-ip") ?? null };
}

export const createTenant: RouteHandler<typeof routes.createTenant, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: PLATFORM_SCOPE,
      operation: "POST /v1/platform/tenants",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => {
      const created = await service.createTenant(
        c.env,
        {
          name: input.name,
          homeCountry: input.home_country,
          allowedCountries: input.allowed_countries && [...new Set(input.allowed_countries)],
          sendRate: input.send_rate,
          currency: input.currency,
          ownerEmail: input.owner_email,
        },
        originOf(c),
      );
      const { invitation } = created.owner;
      const body = {
        tenant: present(created.tenant),
        owner: {
          id: invitation.userId,
          email: created.owner.email,
          role: "owner" as const,
          invitation_url: invitationLink(new URL(c.req.url).origin, invitation.token) as
            | string
            | null,
          invitation_expires_at: new Date(invitation.expiresAt).toISOString(),
        },
        api_key: { ...presentKey(created.apiKey.row), key: created.apiKey.key as string | null },
      };
      return { status: 201, body };
    },
    // The key and the invitation's link are secrets shown once: a replay leaves them out.
    (body) => ({
      ...body,
      owner: { ...body.owner, invitation_url: null },
      api_key: { ...body.api_key, key: null },
    }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listTenants: RouteHandler<typeof routes.listTenants, AppEnv> = async (c) => {
  const page = await service.listTenants(c.env, c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getTenant: RouteHandler<typeof routes.getTenant, AppEnv> = async (c) =>
  c.json(present(await service.findTenant(c.env, c.req.valid("param").id)), 200);

export const updateTenant: RouteHandler<typeof routes.updateTenant, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  if (Object.keys(body).length === 0) {
    throw new ApiError("validation-error", "The request body changes nothing.", {
      errors: [{ pointer: "", detail: "change at least one setting" }],
    });
  }
  const id = c.req.valid("param").id;
  const {
    dispatch_shards: shards,
    send_log: sendLogAsked,
    send_log_spread: spread,
    ...others
  } = body;
  // An unknown partition is refused before anything changes.
  if (sendLogAsked !== undefined) {
    service.checkSendLog(c.env, sendLogAsked);
  }
  spread?.forEach((name, i) => {
    service.checkSendLog(c.env, name, `/send_log_spread/${i}`);
  });
  // The shards first: their 409 or 422 leaves the other fields unchanged too.
  let row =
    shards === undefined
      ? undefined
      : await service.setDispatchShards(c.env, id, shards, originOf(c));
  if (sendLogAsked !== undefined || spread !== undefined) {
    const sendLog = sendLogAsked ?? (row ?? (await service.findTenant(c.env, id))).sendLog;
    row = await service.setSendLog(c.env, id, sendLog, spread, originOf(c));
  }
  if (Object.keys(others).length > 0) {
    row = await service.updateTenant(
      c.env,
      id,
      {
        name: others.name,
        allowedCountries: others.allowed_countries && [...new Set(others.allowed_countries)],
        sendRate: others.send_rate,
      },
      originOf(c),
    );
  }
  return c.json(present(row ?? (await service.findTenant(c.env, id))), 200);
};

export const suspendTenant: RouteHandler<typeof routes.suspendTenant, AppEnv> = async (c) =>
  c.json(present(await service.suspendTenant(c.env, c.req.valid("param").id, originOf(c))), 200);

export const resumeTenant: RouteHandler<typeof routes.resumeTenant, AppEnv> = async (c) =>
  c.json(present(await service.resumeTenant(c.env, c.req.valid("param").id, originOf(c))), 200);

export const topUpBalance: RouteHandler<typeof routes.topUpBalance, AppEnv> = async (c) => {
  const { replayed, answer } = await service.topUpBalance(
    c.env,
    c.req.valid("param").id,
    Math.round(c.req.valid("json").amount * 1_000_000),
    originOf(c),
    c.req.valid("header")["idempotency-key"],
  );
  if (replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(
    {
      tenant_id: answer.tenantId,
      balance: fromMicros(answer.balanceMicros),
      currency: answer.currency,
    },
    200,
  );
};

export const reencryptSecrets: RouteHandler<typeof routes.reencryptSecrets, AppEnv> = async (c) => {
  const { cursor, limit } = c.req.valid("json");
  const pass = await reencryption.reencryptSecrets(c.env, { cursor, limit }, originOf(c));
  return c.json(
    {
      scanned: pass.scanned,
      reencrypted: pass.reencrypted,
      current: pass.current,
      unreadable: pass.unreadable,
      next_cursor: pass.nextCursor,
    },
    200,
  );
};
