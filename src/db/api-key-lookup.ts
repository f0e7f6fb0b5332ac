/**
 * API keys as the request path reads them: looked up by their SHA-256 in an isolate-local cache
 * that lives at most CACHE_TTL_MS, so a revoked key stops working, and a changed limit applies,
 * within that time everywhere (at once in the isolate that made the change, which forgets it
 * here). The API-key middleware reads it; the key and tenant services forget and refresh it.
 */
import { eq } from "drizzle-orm";
import type { Caller, TenantConfig } from "../domain/caller";
import { effectiveRateLimit, type RateLimit } from "../domain/rate-limits";
import type { Scope } from "../domain/scopes";
import { database } from "./client";
import { apiKeys, tenants } from "./schema";
import { tenantConfigOf } from "./tenant-config";

const CACHE_TTL_MS = 10_000;
const MAX_CACHED = 10_000;
export interface KeyEntry {
  caller: Caller | null;
  revoked: boolean;
  /** The key's request limit, so enforcing it needs no I/O. */
  rateLimit: RateLimit | null;
  expiresAt: number;
}

const cache = new Map<string, KeyEntry>();

export function forgetCachedKey(keyId: string): void {
  for (const [hash, entry] of cache) {
    if (entry.caller?.keyId === keyId) {
      cache.delete(hash);
    }
  }
}

/** Newer settings of a tenant, read after the dispatcher refused the cached ones. */
export function rememberTenantSettings(tenant: TenantConfig): void {
  for (const entry of cache.values()) {
    const caller = entry.caller;
    if (caller?.tenant.id === tenant.id && caller.tenant.settingsVersion < tenant.settingsVersion) {
      entry.caller = { ...caller, tenant };
    }
  }
}

export async function lookUpKey(env: Env, hash: string, now: number): Promise<KeyEntry> {
  const cached = cache.get(hash);
  if (cached && cached.expiresAt > now) {
    return cached;
  }
  const [row] = await database(env.DB)
    .select({ key: apiKeys, tenant: tenants })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(eq(apiKeys.keyHash, hash))
    .limit(1);
  const entry: KeyEntry = {
    caller: row
      ? {
          keyId: row.key.id,
          mode: row.key.mode,
          scopes: row.key.scopes as Scope[],
          tenant: tenantConfigOf(row.tenant),
        }
      : null,
    revoked: row?.key.revokedAt != null,
    rateLimit: row ? effectiveRateLimit(row.key) : null,
    expiresAt: now + CACHE_TTL_MS,
  };
  if (cache.size >= MAX_CACHED) {
    cache.clear();
  }
  cache.set(hash, entry);
  return entry;
}
