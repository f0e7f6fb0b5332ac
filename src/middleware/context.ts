import type { tenants } from "../db/schema";
import type { Scope } from "../domain/scopes";
import type { Session } from "../services/accounts/dashboard-auth";

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

export type Mode = "live" | "test";

/** Who is calling: set by the API-key middleware (and by the dashboard's session). */
export interface Caller {
  keyId: string;
  /** The mode of what it sends and creates: a test key's messages go only to the sandbox. */
  mode: Mode;
  /**
   * A dashboard user sees both modes' messages and batches. Every API key reaches only its own
   * mode's, both ways, as in Stripe's test mode: a live message is a 404 to a test key, and a
   * test-mode message to a live key.
   */
  seesBothModes?: boolean;
  scopes: Scope[];
  tenant: TenantConfig;
}

/** The mode whose messages, batches and their events the caller reaches; null for both. */
export function modeSeenBy(caller: Caller): Mode | null {
  return caller.seesBothModes ? null : caller.mode;
}

export interface AppEnv {
  Bindings: Env;
  Variables: { requestId: string; caller: Caller; session: Session };
}
