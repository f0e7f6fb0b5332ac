import type { tenants } from "../db/schema";
import type { QuietHours } from "../domain/quiet-hours";
import type { Scope } from "../domain/scopes";
import type { Session } from "../services/dashboard-auth";

/** What the send path needs of the tenant, cached with the API key. */
export interface TenantConfig {
  id: string;
  homeCountry: string;
  allowedCountries: string[];
  sendRate: number;
  signature: string | null;
  currency: string;
  prices: Record<string, string>;
  quietHours: QuietHours | null;
}

export function tenantConfigOf(row: typeof tenants.$inferSelect): TenantConfig {
  return {
    id: row.id,
    homeCountry: row.homeCountry,
    allowedCountries: row.allowedCountries,
    sendRate: row.sendRate,
    signature: row.signature,
    currency: row.currency,
    prices: row.prices,
    quietHours: row.quietHours ?? null,
  };
}

/** Who is calling: set by the API-key middleware. */
export interface Caller {
  keyId: string;
  mode: "live" | "test";
  scopes: Scope[];
  tenant: TenantConfig;
}

export interface AppEnv {
  Bindings: Env;
  Variables: { requestId: string; caller: Caller; session: Session };
}
