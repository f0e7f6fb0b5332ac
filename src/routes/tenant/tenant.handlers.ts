import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { deskSettingsOf } from "../../domain/desk";
import { retentionOf } from "../../domain/retention";
import { verificationSettingsOf } from "../../domain/verification-limits";
import { ApiError } from "../../lib/problem";
import { budgetSettingView, budgetUsageOf } from "../../services/accounts/budget";
import { deskView, tenantChangesOf } from "../../services/accounts/tenant-schemas";
import * as service from "../../services/accounts/tenants";
import type * as routes from "./tenant.routes";

export function present(row: service.TenantRow) {
  const verification = verificationSettingsOf(row.verificationLimits, row.fraudGuard);
  const retention = retentionOf(row.retention);
  return {
    id: row.id,
    name: row.name,
    home_country: row.homeCountry,
    allowed_countries: row.allowedCountries,
    send_rate: row.sendRate,
    signature: row.signature,
    currency: row.currency,
    prices: row.prices,
    quiet_hours: row.quietHours ?? null,
    verification_opt_out_exempt: row.verificationOptOutExempt,
    opt_out_confirmation: row.optOutConfirmation ?? null,
    verification_limits: {
      per_minute: verification.limits.perMinute,
      per_hour: verification.limits.perHour,
      per_day: verification.limits.perDay,
      prefix_per_hour: verification.limits.prefixPerHour,
      country_per_day: verification.limits.countryPerDay,
    },
    fraud_guard: {
      enabled: verification.fraudGuard.enabled,
      threshold: verification.fraudGuard.threshold,
      min_volume: verification.fraudGuard.minVolume,
    },
    budget: budgetSettingView(row.budgetMicros ?? null),
    retention: {
      bodies_days: retention.bodiesDays,
      messages_days: retention.messagesDays,
      inbound_days: retention.inboundDays,
    },
    desk: deskView(deskSettingsOf(row.desk)),
    created_at: new Date(row.createdAt).toISOString(),
  };
}

/** The tenant with this month's spending, as its own admin sees it. */
async function presentOwn(env: Env, row: service.TenantRow) {
  return {
    ...present(row),
    budget_usage: await budgetUsageOf(env, row.id, {
      homeCountry: row.homeCountry,
      currency: row.currency,
      budgetMicros: row.budgetMicros ?? null,
    }),
  };
}

export const getTenant: RouteHandler<typeof routes.getTenant, AppEnv> = async (c) =>
  c.json(await presentOwn(c.env, await service.getTenant(c.env, c.get("caller"))), 200);

export const updateTenant: RouteHandler<typeof routes.updateTenant, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  if (Object.keys(body).length === 0) {
    throw new ApiError("validation-error", "The request body changes nothing.", {
      errors: [{ pointer: "", detail: "change at least one setting" }],
    });
  }
  const row = await service.updateTenant(c.env, c.get("caller"), tenantChangesOf(body));
  return c.json(await presentOwn(c.env, row), 200);
};
