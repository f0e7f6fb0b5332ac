/**
 * The dispatcher's share of retention (delivery/retention): what enforces it under `wrangler dev`,
 * where cron never fires, and finishes a backlog the daily cron run left. A run of the alarm loop
 * does one bounded round when one is due: at most hourly, or a second after a round that filled
 * its batch, until the backlog is gone. Only a backlog keeps the alarm set for retention; an idle
 * tenant's dispatcher is not woken for it (production's cron covers every tenant daily).
 */
import { enforceRetention, RETENTION_BATCH, retentionOfTenant } from "../../delivery/retention";
import { createLogger } from "../../lib/log";
import type { DispatcherMeta } from "./meta";
import { logsOf } from "./partitions";

/** How often a dispatcher's runs look at retention when nothing is left over. */
export const RETENTION_EVERY_MS = 60 * 60 * 1000;
/** How soon the next round follows one that filled its batch. */
export const RETENTION_CONTINUE_MS = 1000;

/**
 * One round if due; returns when the alarm must run again for retention (only while a backlog
 * remains), or undefined. A failed round (D1 down) is tried again at the next hourly look, and
 * never stops the run that sends messages.
 */
export async function retentionRound(
  sql: SqlStorage,
  env: Env,
  meta: DispatcherMeta,
  now: number,
): Promise<number | undefined> {
  const tenantId = meta.tenantId(sql);
  const due = meta.retentionDue(sql);
  if (!tenantId || (due !== null && now < due.at)) {
    return due?.continuing ? due.at : undefined;
  }
  let continuing = false;
  try {
    const retention = await retentionOfTenant(env.DB, tenantId);
    if (retention) {
      // Over each of the tenant's send-log partitions (partitions.ts).
      const logs = await logsOf(env, tenantId);
      continuing = (await enforceRetention(env.DB, tenantId, retention, now, RETENTION_BATCH, logs))
        .more;
    }
  } catch (error) {
    createLogger(undefined, { tenant_id: tenantId }).error(
      "dispatcher: retention round failed, trying again later",
      { error },
    );
  }
  const next = now + (continuing ? RETENTION_CONTINUE_MS : RETENTION_EVERY_MS);
  meta.setRetentionDue(sql, next, continuing);
  return continuing ? next : undefined;
}

/** A backlog handed over by cron: the next run does a round at once and keeps going. */
export function continueRetention(sql: SqlStorage, meta: DispatcherMeta, now: number): void {
  meta.setRetentionDue(sql, now, true);
}
