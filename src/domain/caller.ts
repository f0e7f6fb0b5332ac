/** Who is calling, as every layer below the HTTP one sees it: an API key's caller or a dashboard user's session. */
import type { Permission } from "./permissions";

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
  /** Suspended by the platform admin: its keys and sessions are refused (routes/platform). */
  suspended: boolean;
  /** Verification codes still go to numbers that opted out (the dispatcher refuses the rest). */
  verificationOptOutExempt: boolean;
  /** The monthly budget in millionths of `currency` (domain/budget); null: none. */
  budgetMicros: number | null;
  /** Dispatcher shards (domain/dispatch-shards), and their number before the last change. */
  dispatchShards: number;
  previousDispatchShards: number | null;
  /** The send log's partition for new messages, then the ones holding older messages (db/send-log-partitions). */
  sendLog: string;
  previousSendLogs: string[];
  /** Further partitions its dispatcher shards log new messages to, besides `sendLog`. */
  sendLogSpread: string[];
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
  /** The key's scopes, or the signed-in user's role's permissions (domain/permissions). */
  scopes: Permission[];
  tenant: TenantConfig;
  /** The request it makes, for the audit log (services/audit); absent outside a request. */
  origin?: RequestOrigin;
}

/** Where a request came from: what an audit entry records besides who made it. */
export interface RequestOrigin {
  requestId: string;
  /** The client's address (`CF-Connecting-IP`); null in local runs and tests without one. */
  ip: string | null;
}

/**
 * Who an audit entry names: a user, an API key, the platform admin, or Relaybox itself acting on a
 * message it received (`system`, id `inbound`: an opt-out keyword).
 */
export interface Actor {
  type: "user" | "key" | "platform" | "system";
  id: string;
}

const USER_KEY_PREFIX = "user:";
const SYSTEM_KEY_PREFIX = "system:";

/** The key id of Relaybox's own caller for work it does unasked (`system:inbound`). */
export const systemCallerKeyId = (name: string) => `${SYSTEM_KEY_PREFIX}${name}`;

/** The key id a signed-in user's caller carries (`user:usr_…`). */
export const userCallerKeyId = (userId: string) => `${USER_KEY_PREFIX}${userId}`;

export function actorOf(caller: Caller): Actor {
  if (caller.keyId === "platform") {
    return { type: "platform", id: "platform" };
  }
  if (caller.keyId.startsWith(SYSTEM_KEY_PREFIX)) {
    return { type: "system", id: caller.keyId.slice(SYSTEM_KEY_PREFIX.length) };
  }
  return caller.keyId.startsWith(USER_KEY_PREFIX)
    ? { type: "user", id: caller.keyId.slice(USER_KEY_PREFIX.length) }
    : { type: "key", id: caller.keyId };
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
  /** A built-in role or a custom role's id (`rol_…`). */
  role: string;
  /** What the role holds, read with the session on every request. */
  permissions: Permission[];
  csrf: string;
  /** The tenant's name, for the dashboard's header; read with the session (db/session-lookup). */
  tenantName?: string;
}
