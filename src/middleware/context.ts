import type { Scope } from "../domain/scopes";
import type { Session } from "../services/dashboard-auth";

export interface TenantConfig {
  id: string;
  homeCountry: string;
  allowedCountries: string[];
  sendRate: number;
  signature: string | null;
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
