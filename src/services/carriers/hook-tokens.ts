/**
 * Who a carrier callback's hook token belongs to, kept by each isolate for a minute. Its own file:
 * the provider settings forget a rotated token here, and the receipt hook asks here, so neither
 * imports the other.
 */
import type { Database } from "../../db/client";
import { findByHookToken } from "../../db/provider-settings";
import { PROVIDERS, type ProviderName } from "../../domain/vocabulary";
import { TtlCache } from "../../lib/ttl-cache";

const HOOK_CACHE_TTL_MS = 60_000;

function isProvider(name: string): name is ProviderName {
  return (PROVIDERS as readonly string[]).includes(name);
}

export type HookOwner = { tenantId: string; provider: ProviderName };
const hookOwners = new TtlCache<string, HookOwner>({
  ttlMs: HOOK_CACHE_TTL_MS,
  maxEntries: 10_000,
});

/** A rotated token stops working in this isolate at once (in others within HOOK_CACHE_TTL_MS). */
export function forgetHookToken(provider: ProviderName, hookToken: string): void {
  hookOwners.delete(`${provider}:${hookToken}`);
}

/** Who a hook token of `provider` belongs to; undefined for an unknown provider or token. */
export async function ownerOf(
  db: Database,
  provider: string,
  hookToken: string,
  now: number,
): Promise<HookOwner | undefined> {
  if (!isProvider(provider)) {
    return undefined;
  }
  const key = `${provider}:${hookToken}`;
  const cached = hookOwners.get(key, now);
  if (cached) {
    return cached;
  }
  const row = await findByHookToken(db, provider, hookToken);
  if (!row) {
    return undefined;
  }
  const owner = { tenantId: row.tenantId, provider: row.provider };
  hookOwners.set(key, owner, now);
  return owner;
}
