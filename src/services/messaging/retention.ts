/**
 * Retention across every tenant, from the daily cron trigger (production; the dispatcher's alarm
 * does it under `wrangler dev`): bounded rounds per tenant (delivery/retention), at most
 * `roundsPerTenant` of them, and a tenant with more left over hands the rest to its dispatcher,
 * which keeps doing a round a second until it is done. A cron run stays bounded however large a
 * backlog is.
 */
import {
  type PlacementColumns,
  placementFromRow,
  tenantSendLogs,
} from "../../db/send-log-partitions";
import { dispatcherOf } from "../../delivery/dispatcher";
import { enforceRetention, RETENTION_BATCH } from "../../delivery/retention";
import { type Retention, retentionOf } from "../../domain/retention";

const TENANT_PAGE = 100;

export interface RetentionRun {
  tenants: number;
  redacted: number;
  deleted: number;
  inboundDeleted: number;
  deliveriesRedacted: number;
  queriesDeleted: number;
  /** The desk's rows changed: web chat messages redacted or deleted, notes and previews redacted. */
  deskChanged: number;
  /** Tenants whose backlog went on to their dispatcher. */
  handedOver: string[];
}

export async function enforceRetentionEverywhere(
  env: Env,
  now: number = Date.now(),
  options: { roundsPerTenant?: number; batch?: number } = {},
): Promise<RetentionRun> {
  const roundsPerTenant = options.roundsPerTenant ?? 10;
  const batch = options.batch ?? RETENTION_BATCH;
  const run: RetentionRun = {
    tenants: 0,
    redacted: 0,
    deleted: 0,
    inboundDeleted: 0,
    deliveriesRedacted: 0,
    queriesDeleted: 0,
    deskChanged: 0,
    handedOver: [],
  };
  let after = "";
  for (;;) {
    const { results } = await env.DB.prepare(
      "SELECT id, retention, send_log, previous_send_logs, send_log_spread FROM tenants WHERE id > ? ORDER BY id LIMIT ?",
    )
      .bind(after, TENANT_PAGE)
      .all<
        {
          id: string;
          retention: string | null;
        } & PlacementColumns
      >();
    for (const tenant of results) {
      const retention = retentionOf(
        tenant.retention ? (JSON.parse(tenant.retention) as Retention) : null,
      );
      // The tenant's send-log partitions, from the row just read (db/send-log-partitions).
      const logs = tenantSendLogs(env, placementFromRow(tenant));
      let more = true;
      for (let round = 0; more && round < roundsPerTenant; round++) {
        const done = await enforceRetention(env.DB, tenant.id, retention, now, batch, logs);
        run.redacted += done.redacted;
        run.deleted += done.deleted;
        run.inboundDeleted += done.inboundDeleted;
        run.deliveriesRedacted += done.deliveriesRedacted;
        run.queriesDeleted += done.queriesDeleted;
        run.deskChanged +=
          done.webchatRedacted + done.webchatDeleted + done.notesRedacted + done.previewsRedacted;
        more = done.more;
      }
      if (more) {
        await dispatcherOf(env, tenant.id).continueRetention(tenant.id);
        run.handedOver.push(tenant.id);
      }
      run.tenants++;
    }
    const last = results.at(-1);
    if (!last || results.length < TENANT_PAGE) {
      return run;
    }
    after = last.id;
  }
}
