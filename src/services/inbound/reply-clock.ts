/**
 * The clock auto-reply rules with an active window are read against: when the message arrived,
 * in the tenant's zone (its home country's; the first the tz database lists where there are
 * several). The tenant is read only when a rule has a window.
 */
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { tenants } from "../../db/schema";
import type { AutoReplyRule, Clock } from "../../domain/auto-replies";
import { timeZonesOf } from "../../domain/quiet-hours";

export async function replyClock(
  env: Env,
  tenantId: string,
  rules: readonly AutoReplyRule[],
  at: number,
): Promise<Clock | undefined> {
  if (!rules.some((rule) => rule.activeWindow)) {
    return undefined;
  }
  const row = await database(env.DB)
    .select({ homeCountry: tenants.homeCountry })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .get();
  return { at, zone: timeZonesOf(row?.homeCountry ?? "").at(0) ?? "UTC" };
}
