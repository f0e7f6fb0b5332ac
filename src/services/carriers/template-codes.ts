/**
 * Our templates' codes at the providers that send only their own approved templates (Aliyun,
 * Tencent): a message from template T goes to such a provider only if T has a code there, and
 * then as that code with the message's variables (the provider renders and signs it).
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { templateProviderCodes } from "../../db/schema";
import { forgetProviderCodes } from "../../delivery/provider-reads";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { audited } from "../audit/audit-log";
import { getTemplate } from "../content/templates";

export const CODED_PROVIDERS = ["aliyun", "tencent"] as const;
export type CodedProvider = (typeof CODED_PROVIDERS)[number];

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
  if (statements.length > 0) {
    const before = await readProviderCodes(env, caller, templateId);
    await audited(
      env,
      caller,
      {
        action: "template.provider_codes_change",
        target: templateId,
        diff: diffOf(
          Object.fromEntries(
            Object.keys(codes).map((provider) => [
              provider,
              before[provider as CodedProvider] ?? null,
            ]),
          ),
          Object.fromEntries(
            Object.entries(codes).map(([provider, code]) => [provider, code ?? null]),
          ),
        ),
      },
      statements,
    );
  }
  forgetProviderCodes(templateId);
  return readProviderCodes(env, caller, templateId);
}
