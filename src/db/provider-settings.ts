import { and, eq } from "drizzle-orm";
import type { ProviderName } from "../domain/vocabulary";
import type { Database } from "./client";
import { providerSettings } from "./schema";

export async function findHookToken(
  db: Database,
  tenantId: string,
  provider: ProviderName,
): Promise<string | undefined> {
  const row = await db.query.providerSettings.findFirst({
    columns: { hookToken: true },
    where: and(
      eq(providerSettings.tenantId, tenantId),
      eq(providerSettings.provider, provider),
      eq(providerSettings.enabled, true),
    ),
  });
  return row?.hookToken;
}

/** The provider settings a carrier callback's `hook_token` belongs to. */
export async function findByHookToken(db: Database, provider: ProviderName, hookToken: string) {
  return db.query.providerSettings.findFirst({
    columns: { id: true, tenantId: true, provider: true },
    where: and(eq(providerSettings.hookToken, hookToken), eq(providerSettings.provider, provider)),
  });
}
