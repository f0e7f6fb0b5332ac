import { eq } from "drizzle-orm";
import { database } from "../db/client";
import { tenants } from "../db/schema";
import type { TenantConfig } from "../middleware/context";

export async function loadTenant(env: Env, tenantId: string): Promise<TenantConfig | undefined> {
  const row = await database(env.DB).query.tenants.findFirst({ where: eq(tenants.id, tenantId) });
  return row
    ? {
        id: row.id,
        homeCountry: row.homeCountry,
        allowedCountries: row.allowedCountries,
        sendRate: row.sendRate,
        signature: row.signature,
      }
    : undefined;
}
