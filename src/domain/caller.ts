/** Who is calling, as every layer below the HTTP one sees it: an API key's caller or a dashboard user's session. */
import type { Scope } from "./scopes";
import type { Role } from "./vocabulary";

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

/** A signed-in dashboard user (the row of dashboard_sessions, as the pages see it). */
export interface Session {
  /** The row's id: the SHA-256 of the cookie's token. */
  id: string;
  userId: string;
  tenantId: string;
  email: string;
  role: Role;
  csrf: string;
}
