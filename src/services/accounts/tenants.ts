/**
 * The tenant's own settings: who it is, where it may send, how fast, when marketing waits.
 *
 * Callers compose messages from a cached copy of these (the API key's cache, one per isolate), so
 * every change counts `settings_version` up and tells the tenant's dispatcher the new number
 * before it is answered. The dispatcher refuses a message composed under an older version, and the
 * sender composes it again from D1 (`withCurrentSettings`): a message accepted after a change's
 * 200 obeys it, whichever isolate accepts it, and accepting still costs one dispatcher call.
 */
import { eq, sql } from "drizzle-orm";
import { rememberTenantSettings } from "../../db/api-key-lookup";
import { database } from "../../db/client";
import { tenants } from "../../db/schema";
import { tenantConfigOf } from "../../db/tenant-config";
import { allShards, dispatcherOf, dispatcherShard } from "../../delivery/dispatcher";
import { diffOf } from "../../domain/audit-chain";
import type { Caller, TenantConfig } from "../../domain/caller";
import { type DeskSettings, deskSettingsOf } from "../../domain/desk";
import { shardRates } from "../../domain/dispatch-shards";
import type { QuietHours } from "../../domain/quiet-hours";
import { type Retention, retentionOf, retentionProblem } from "../../domain/retention";
import { SUSPENDED_DETAIL } from "../../domain/suspension";
import {
  type FraudGuard,
  type VerificationLimits,
  verificationSettingsOf,
} from "../../domain/verification-limits";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { forgetDeskSettings } from "../desk/intake";
import { configureVerificationLimits } from "../verifications/limits";

export type TenantRow = typeof tenants.$inferSelect;

export async function loadTenant(env: Env, tenantId: string): Promise<TenantConfig | undefined> {
  const row = await database(env.DB).query.tenants.findFirst({ where: eq(tenants.id, tenantId) });
  return row ? tenantConfigOf(row) : undefined;
}

export async function getTenant(env: Env, caller: Caller): Promise<TenantRow> {
  const row = await database(env.DB).query.tenants.findFirst({
    where: eq(tenants.id, caller.tenant.id),
  });
  if (!row) {
    // The caller's key was just checked against this tenant; it cannot be missing.
    throw new Error(`tenant ${caller.tenant.id} vanished`);
  }
  return row;
}

export interface TenantChanges {
  name?: string;
  homeCountry?: string;
  allowedCountries?: string[];
  sendRate?: number;
  currency?: string;
  prices?: Record<string, string>;
  quietHours?: QuietHours | null;
  verificationOptOutExempt?: boolean;
  optOutConfirmation?: { zh?: string; en?: string } | null;
  /** Merged into the current limits (the members not given keep their values). */
  verificationLimits?: Partial<VerificationLimits>;
  /** Merged into the current guard. */
  fraudGuard?: Partial<FraudGuard>;
  /** The monthly budget in micros; null removes it. */
  budgetMicros?: number | null;
  /** Merged into the current retention; the result must keep bodies no longer than messages. */
  retention?: Partial<Retention>;
  /** Merged into the current desk settings. */
  desk?: Partial<DeskSettings>;
}

/** The SET clause's part that every change of the tenant's settings carries. */
export const NEXT_SETTINGS_VERSION = { settingsVersion: sql`${tenants.settingsVersion} + 1` };

/** The members that are set: a member sent as undefined keeps its current value. */
function definedOnly<T extends object>(partial: Partial<T>): Partial<T> {
  return Object.fromEntries(
    Object.entries(partial).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** Applies the changes; they reach the tenant's dispatcher before this returns. */
export async function updateTenant(
  env: Env,
  caller: Caller,
  changes: TenantChanges,
): Promise<TenantRow> {
  const current = await getTenant(env, caller);
  // The verification settings are stored whole (null in D1 until first changed: the defaults).
  const settings = verificationSettingsOf(current.verificationLimits, current.fraudGuard);
  const before = {
    ...current,
    verificationLimits: settings.limits,
    fraudGuard: settings.fraudGuard,
    retention: retentionOf(current.retention),
    desk: deskSettingsOf(current.desk),
  };
  const { verificationLimits, fraudGuard, retention, desk, ...others } = changes;
  if (
    changes.budgetMicros !== undefined &&
    changes.budgetMicros !== null &&
    (current.dispatchShards > 1 || (current.previousDispatchShards ?? 1) > 1)
  ) {
    // Kept exact by one object (domain/dispatch-shards): not yet split over shards.
    throw new ApiError(
      "unprocessable-entity",
      "A monthly budget needs the tenant's dispatch on one shard; the platform admin sets dispatch_shards.",
      { errors: [{ pointer: "/budget", detail: `dispatch_shards is ${current.dispatchShards}` }] },
    );
  }
  const newRetention = retention && { ...before.retention, ...definedOnly(retention) };
  const refused = newRetention && retentionProblem(newRetention);
  if (refused) {
    throw new ApiError("unprocessable-entity", refused, {
      errors: [{ pointer: "/retention/bodies_days", detail: refused }],
    });
  }
  // Members left out arrive as undefined: they change nothing, and the audit diff leaves them out.
  const stored = {
    ...definedOnly(others),
    ...(verificationLimits && {
      verificationLimits: { ...settings.limits, ...definedOnly(verificationLimits) },
    }),
    ...(fraudGuard && { fraudGuard: { ...settings.fraudGuard, ...definedOnly(fraudGuard) } }),
    ...(newRetention && { retention: newRetention }),
    ...(desk && { desk: { ...before.desk, ...definedOnly(desk) } }),
  };
  const [[row]] = await audited(
    env,
    caller,
    {
      action: "tenant.update",
      target: "tenant",
      diff: diffOf(
        Object.fromEntries(
          Object.keys(stored).map((field) => [field, before[field as keyof TenantRow]]),
        ),
        { ...stored },
      ),
    },
    [
      database(env.DB)
        .update(tenants)
        .set({ ...stored, ...NEXT_SETTINGS_VERSION })
        .where(eq(tenants.id, caller.tenant.id))
        .returning(),
    ],
  );
  if (!row) {
    throw new Error(`tenant ${caller.tenant.id} vanished`);
  }
  if (desk) {
    // This isolate serves the change at once; the others within the cache's 5 seconds.
    forgetDeskSettings(row.id);
  }
  await announceSettings(env, row);
  if (verificationLimits || fraudGuard) {
    await configureVerificationLimits(
      env,
      row.id,
      row.settingsVersion,
      verificationSettingsOf(row.verificationLimits, row.fraudGuard),
    );
  }
  return row;
}

/**
 * Tells the tenant's dispatcher of a change, with the settings it releases by, all of them: of
 * two changes' calls, the later may arrive first, and the dispatcher keeps the newer.
 */
export async function announceSettings(env: Env, row: TenantRow): Promise<void> {
  if (row.dispatchShards === 1 && row.previousDispatchShards === null) {
    await dispatcherOf(env, row.id).configure({
      tenantId: row.id,
      settingsVersion: row.settingsVersion,
      sendRate: row.sendRate,
      quietHours: row.quietHours ?? null,
      suspended: row.suspendedAt !== null,
    });
    return;
  }
  // Sharded (domain/dispatch-shards): every shard, now and from before a change of N, hears the
  // version and gets an equal part of the rate, the parts adding up to it, so that the tenant's
  // rate holds while old shards drain. After a shrink the shards left share it again once the
  // change is finished (services/accounts/platform-tenants `setDispatchShards`).
  const shards = allShards(row);
  const rates = shardRates(row.sendRate, shards.length);
  await Promise.all(
    shards.map((shard) =>
      dispatcherShard(env, row.id, shard).configure({
        tenantId: row.id,
        shard,
        settingsVersion: row.settingsVersion,
        sendRate: rates[shard] ?? 0,
        quietHours: row.quietHours ?? null,
        suspended: row.suspendedAt !== null,
      }),
    ),
  );
}

/** The tenant's settings as D1 has them now, also refreshing this isolate's cached copy. */
export async function currentSettings(env: Env, caller: Caller): Promise<TenantConfig> {
  const tenant = await loadTenant(env, caller.tenant.id);
  if (!tenant) {
    throw new Error(`tenant ${caller.tenant.id} vanished`);
  }
  rememberTenantSettings(tenant);
  return tenant;
}

/** The dispatcher refused a message composed under an outdated copy of the tenant's settings. */
export class StaleSettings extends Error {
  constructor() {
    super("the tenant's settings changed since they were read");
  }
}

/**
 * Runs `accept` with the caller's settings; if the dispatcher finds them outdated, reads them from
 * D1 (refreshing this isolate's key cache) and runs it once more. Nothing was accepted the first
 * time, so running again sends nothing twice.
 */
export async function withCurrentSettings<T>(
  env: Env,
  caller: Caller,
  accept: (caller: Caller) => Promise<T>,
): Promise<T> {
  try {
    return await accept(caller);
  } catch (error) {
    if (!(error instanceof StaleSettings)) {
      throw error;
    }
  }
  const tenant = await currentSettings(env, caller);
  if (tenant.suspended) {
    // Suspended since this isolate cached the key: the suspension counted the version up.
    throw new ApiError("tenant-suspended", SUSPENDED_DETAIL);
  }
  try {
    return await accept({ ...caller, tenant });
  } catch (error) {
    if (error instanceof StaleSettings) {
      // Changed again within the moment it took to read them.
      throw new ApiError(
        "conflict",
        "The account's settings changed while this was being accepted; send it again.",
      );
    }
    throw error;
  }
}
