/**
 * API keys by their SHA-256, cached per isolate for at most CACHE_TTL_MS: the lookup of every
 * authenticated request (middleware/api-key.ts), without a D1 query each time. A revoked key, or a
 * changed limit, is dropped at once in the isolate that made the change. The tenant's settings
 * cached with a key may be older still: sending checks them against the dispatcher's version and
 * refreshes them here (services/accounts/tenants.ts).
 */
import { eq } from "drizzle-orm";
import type { Caller, TenantConfig } from "../domain/caller";
import type { Permission } from "../domain/permissions";
import { effectiveRateLimit, type RateLimit } from "../domain/rate-limits";
import { TtlCache } from "../lib/ttl-cache";
import { database } from "./client";
import { apiKeys, tenants } from "./schema";
import { tenantConfigOf } from "./tenant-config";

const CACHE_TTL_MS = 10_000;
const MAX_CACHED = 10_000;

export interface KeyLookup {
  caller: Caller | null;
  revoked: boolean;
  /** The key's request limit, so enforcing it needs no I/O. */
  rateLimit: RateLimit | null;
}

const cache = new TtlCache<string, KeyLookup>({ ttlMs: CACHE_TTL_MS, maxEntries: MAX_CACHED });

export function forgetCachedKey(keyId: string): void {
  for (const [hash, entry] of cache) {
    if (entry.caller?.keyId === keyId) {
      cache.delete(hash);
    }
  }
}

/** Drops every cached key of a tenant: its suspension or resumption applies at once here. */
export function forgetCachedTenant(tenantId: string): void {
  for (const [hash, entry] of cache) {
    if (entry.caller?.tenant.id === tenantId) {
      cache.delete(hash);
    }
  }
}

/** Newer settings of a tenant, read after the dispatcher refused the cached ones. */
export function rememberTenantSettings(tenant: TenantConfig): void {
  for (const [, entry] of cache) {
    const caller = entry.caller;
    if (caller?.tenant.id === tenant.id && caller.tenant.settingsVersion < tenant.settingsVersion) {
      entry.caller = { ...caller, tenant };
    }
  }
}

/** The key whose SHA-256 is `hash`, as D1 had it at most CACHE_TTL_MS ago. */
export async function lookUpKey(env: Env, hash: string, now: number): Promise<KeyLookup> {
  const cached = cache.get(hash, now);
  if (cached) {
    return cached;
  }
  const [row] = await database(env.DB)
    .select({ key: apiKeys, tenant: tenants })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(eq(apiKeys.keyHash, hash))
    .limit(1);
  const entry: KeyLookup = {
    caller: row
      ? {
          keyId: row.key.id,
          mode: row.key.mode,
          scopes: row.key.scopes as Permission[],
          tenant: tenantConfigOf(row.tenant),
        }
      : null,
    revoked: row?.key.revokedAt != null,
    rateLimit: row ? effectiveRateLimit(row.key) : null,
  };
  cache.set(hash, entry, now);
  return entry;
}
