import type { tenants } from "../db/schema";
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
  /** Which change of these settings this copy is; the dispatcher refuses an outdated one. */
  settingsVersion: number;
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
    settingsVersion: row.settingsVersion,
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
