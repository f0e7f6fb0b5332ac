import type { TenantConfig } from "../domain/caller";
import type { tenants } from "./schema";

export function tenantConfigOf(row: typeof tenants.$inferSelect): TenantConfig {
  return {
    id: row.id,
    homeCountry: row.homeCountry,
    allowedCountries: row.allowedCountries,
    sendRate: row.sendRate,
    signature: row.signature,
    currency: row.currency,
    prices: row.prices,
    settingsVersion: row.settingsVersion,
    suspended: row.suspendedAt !== null,
    verificationOptOutExempt: row.verificationOptOutExempt,
    budgetMicros: row.budgetMicros ?? null,
    dispatchShards: row.dispatchShards,
    previousDispatchShards: row.previousDispatchShards ?? null,
    sendLog: row.sendLog,
    previousSendLogs: row.previousSendLogs ?? [],
    sendLogSpread: row.sendLogSpread ?? [],
  };
}
