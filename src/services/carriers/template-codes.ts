/**
 * Our templates' codes at the providers that send only their own approved templates (Aliyun,
 * Tencent): a message from template T goes to such a provider only if T has a code there, and
 * then as that code with the message's variables (the provider renders and signs it).
 */
import { and, eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { templateProviderCodes } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import { getTemplate } from "../content/templates";

export const CODED_PROVIDERS = ["aliyun", "tencent"] as const;
export type CodedProvider = (typeof CODED_PROVIDERS)[number];

const CODES_TTL_MS = 30_000;
const cache = new Map<string, { codes: Map<string, string>; expiresAt: number }>();

export async function readProviderCodes(
  env: Env,
  caller: Caller,
  templateId: string,
): Promise<Partial<Record<CodedProvider, string>>> {
  await getTemplate(env, caller, templateId);
  const rows = await database(env.DB)
    .select()
    .from(templateProviderCodes)
    .where(eq(templateProviderCodes.templateId, templateId));
  return Object.fromEntries(rows.map((row) => [row.provider, row.code]));
}

/** Sets (a string) or removes (null) the template's code at each provider given. */
export async function setProviderCodes(
  env: Env,
  caller: Caller,
  templateId: string,
  codes: Partial<Record<CodedProvider, string | null>>,
  now: number = Date.now(),
): Promise<Partial<Record<CodedProvider, string>>> {
  await getTemplate(env, caller, templateId);
  const db = database(env.DB);
  const statements = Object.entries(codes).map(([provider, code]) =>
    code === null || code === undefined
      ? db
          .delete(templateProviderCodes)
          .where(
            and(
              eq(templateProviderCodes.templateId, templateId),
              eq(templateProviderCodes.provider, provider),
            ),
          )
      : db
          .insert(templateProviderCodes)
          .values({ templateId, provider, tenantId: caller.tenant.id, code, createdAt: now })
          .onConflictDoUpdate({
            target: [templateProviderCodes.templateId, templateProviderCodes.provider],
            set: { code },
          }),
  );
  const [first, ...rest] = statements;
  if (first) {
    await db.batch([first, ...rest]);
  }
  cache.delete(templateId);
  return readProviderCodes(env, caller, templateId);
}

/** Codes by template (provider → code) for the dispatch consumers; cached per isolate. */
export async function providerCodesOf(
  env: Env,
  templateIds: readonly string[],
  now: number = Date.now(),
): Promise<Map<string, Map<string, string>>> {
  const result = new Map<string, Map<string, string>>();
  const missing: string[] = [];
  for (const id of new Set(templateIds)) {
    const cached = cache.get(id);
    if (cached && cached.expiresAt > now) {
      result.set(id, cached.codes);
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
      cache.set(id, { codes, expiresAt: now + CODES_TTL_MS });
      result.set(id, codes);
    }
  }
  return result;
}
