/**
 * What the dispatch consumer and the receipt hooks read of a tenant's carriers on every batch:
 * its enabled providers with their credentials decrypted, its routing rules, and its templates'
 * codes at the providers that send only their own templates. Each is cached per isolate for a
 * few seconds; a change made through this isolate applies at once (the services that write them
 * call the `forget…` functions), one made through another isolate within the cache's time.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { ProviderSettings } from "../channels/sms/adapter";
import { masterKeysOf } from "../config/settings";
import { database } from "../db/client";
import { providerSettings, routes, templateProviderCodes } from "../db/schema";
import type { RouteRule } from "../domain/routing";
import type { ProviderName } from "../domain/vocabulary";
import { decryptSecret } from "../lib/secrets";
import { TtlCache } from "../lib/ttl-cache";

const SETTINGS_TTL_MS = 30_000;
const RULES_TTL_MS = 10_000;
const CODES_TTL_MS = 30_000;

const providersCache = new TtlCache<string, Promise<Map<ProviderName, ReadyProvider>>>({
  ttlMs: SETTINGS_TTL_MS,
});
const rulesCache = new TtlCache<string, Promise<RouteRule<ProviderName>[]>>({
  ttlMs: RULES_TTL_MS,
});
const codesCache = new TtlCache<string, Map<string, string>>({ ttlMs: CODES_TTL_MS });

/** An enabled provider of a tenant, ready for an adapter. */
export interface ReadyProvider {
  hookToken: string;
  settings: ProviderSettings;
}

/**
 * The tenant's enabled providers with their credentials decrypted. Cached per isolate for
 * SETTINGS_TTL_MS.
 */
export function readyProviders(
  env: Env,
  tenantId: string,
  now: number = Date.now(),
): Promise<Map<ProviderName, ReadyProvider>> {
  const cached = providersCache.get(tenantId, now);
  if (cached) {
    return cached;
  }
  const providers = (async () => {
    const rows = await database(env.DB)
      .select()
      .from(providerSettings)
      .where(and(eq(providerSettings.tenantId, tenantId), eq(providerSettings.enabled, true)));
    const ready = new Map<ProviderName, ReadyProvider>();
    for (const row of rows) {
      const secrets = row.secretCiphertext
        ? (JSON.parse(
            await decryptSecret(masterKeysOf(env), "provider-credentials", row.secretCiphertext),
          ) as Record<string, string>)
        : {};
      ready.set(row.provider, {
        hookToken: row.hookToken,
        settings: { config: row.config, secrets },
      });
    }
    return ready;
  })();
  providersCache.set(tenantId, providers, now);
  providers.catch(() => providersCache.delete(tenantId, providers));
  return providers;
}

/** A tenant's provider settings changed here: the next read sees the change. */
export function forgetReadyProviders(tenantId: string): void {
  providersCache.delete(tenantId);
}

/** The tenant's routing rules; another isolate's change applies within 10 s. */
export function routingRules(
  env: Env,
  tenantId: string,
  now: number = Date.now(),
): Promise<RouteRule<ProviderName>[]> {
  const cached = rulesCache.get(tenantId, now);
  if (cached) {
    return cached;
  }
  const rules = database(env.DB)
    .select({ destination: routes.destination, providers: routes.providers })
    .from(routes)
    .where(eq(routes.tenantId, tenantId))
    .then((rows) => rows as RouteRule<ProviderName>[]);
  rulesCache.set(tenantId, rules, now);
  rules.catch(() => rulesCache.delete(tenantId, rules));
  return rules;
}

/** A tenant's routing rules changed here: the next read sees the change. */
export function forgetRoutingRules(tenantId: string): void {
  rulesCache.delete(tenantId);
}

/** Codes by template (provider → code); cached per isolate for CODES_TTL_MS. */
export async function providerCodesOf(
  env: Env,
  templateIds: readonly string[],
  now: number = Date.now(),
): Promise<Map<string, Map<string, string>>> {
  const result = new Map<string, Map<string, string>>();
  const missing: string[] = [];
  for (const id of new Set(templateIds)) {
    const cached = codesCache.get(id, now);
    if (cached) {
      result.set(id, cached);
    } else {
      missing.push(id);
    }
  }
  if (missing.length > 0) {
    const rows = await database(env.DB)
      .select()
      .from(templateProviderCodes)
      .where(inArray(templateProviderCodes.templateId, missing));
    for (const id of missing) {
      const codes = new Map(
        rows.filter((row) => row.templateId === id).map((row) => [row.provider, row.code]),
      );
      codesCache.set(id, codes, now);
      result.set(id, codes);
    }
  }
  return result;
}

/** A template's provider codes changed here: the next read sees the change. */
export function forgetProviderCodes(templateId: string): void {
  codesCache.delete(templateId);
}
