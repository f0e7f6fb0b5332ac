/** The tenant's own settings: who it is, where it may send, how fast. */
import { eq } from "drizzle-orm";
import { database } from "../db/client";
import { tenants } from "../db/schema";
import type { QuietHours } from "../domain/quiet-hours";
import { type Caller, type TenantConfig, tenantConfigOf } from "../middleware/context";
import { dispatcherOf } from "./dispatcher";

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
}

/**
 * Applies the changes; a new send rate reaches the tenant's dispatcher at once. Home and allowed
 * countries reach every isolate's key cache within its TTL.
 */
export async function updateTenant(
  env: Env,
  caller: Caller,
  changes: TenantChanges,
): Promise<TenantRow> {
  const [row] = await database(env.DB)
    .update(tenants)
    .set(changes)
    .where(eq(tenants.id, caller.tenant.id))
    .returning();
  if (!row) {
    throw new Error(`tenant ${caller.tenant.id} vanished`);
  }
  if (changes.sendRate !== undefined || changes.quietHours !== undefined) {
    // Both reach the dispatcher at once: it releases by them.
    await dispatcherOf(env, row.id).configure({
      tenantId: row.id,
      ...(changes.sendRate !== undefined ? { sendRate: row.sendRate } : {}),
      ...(changes.quietHours !== undefined ? { quietHours: row.quietHours ?? null } : {}),
    });
  }
  return row;
}
