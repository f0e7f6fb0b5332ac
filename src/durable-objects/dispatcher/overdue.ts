/**
 * Messages overdue for what should have come back: a released message's send result, a sent
 * message's delivery receipt. Both are settled from the D1 send log.
 */
import { settingsOf } from "../../config/settings";
import { expireOverdue, SMS_FALLBACK_CLAIM } from "../../delivery/status-writer";
import { allRows } from "../../lib/sql-rows";
import { withKeptOutcomes } from "./kept-outcomes";
import type { DispatcherMeta } from "./meta";
import { LANE_BULK } from "./outbox-schema";
import { logsOf } from "./partitions";
import { type LoggedState, readStates } from "./send-log";

const FINAL_OR_SENT = new Set([
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "canceled",
  "expired",
]);

/**
 * Sent messages with no receipt by the deadline end `expired`. The sweep runs in D1 and says when
 * the next deadline falls, so the dispatcher keeps no row per message waiting for a receipt.
 */
export async function sweepExpired(
  sql: SqlStorage,
  env: Env,
  meta: DispatcherMeta,
  now: number,
): Promise<void> {
  const due = meta.nextSweep(sql);
  const tenantId = meta.tenantId(sql);
  if (due === null || due > now || !tenantId) {
    return;
  }
  meta.sweepStarted();
  // With their `message.expired`, in the same D1 batch, on each of the tenant's partitions; the
  // next deadline is the earliest of theirs.
  let next: number | null = null;
  for (const db of await logsOf(env, tenantId)) {
    const at = await expireOverdue(
      env,
      db,
      tenantId,
      now,
      settingsOf(env).RECEIPT_DEADLINE_SECONDS * 1000,
    );
    if (at !== null && (next === null || at < next)) {
      next = at;
    }
  }
  // At most one sweep a second, however the deadlines fall.
  meta.sweepFinished(sql, next === null ? null : Math.max(next, now + 1000));
}

/** Messages to release again: `ids`, of which `smsFallbacks` as their SMS fallback. */
export interface Rerelease {
  ids: string[];
  smsFallbacks: ReadonlySet<string>;
  /** Those of `ids` from the bulk lane: they go to the bulk dispatch queue. */
  bulk: ReadonlySet<string>;
}

/**
 * A released message whose result never came back (a lost queue message, a consumer that died,
 * a lost report) is looked up in D1: done ones are retired, one still being worked on (a retry
 * waiting out its backoff) is left alone, and the rest are to be released again (returned, for
 * the queue; undefined when none was overdue). The consumers' claim on the message row makes a
 * second delivery harmless. A sent one retired here still waits for its receipt, so the receipt
 * sweep is due by its deadline, as when its report comes. One whose SMS fallback the send log
 * hands to this dispatcher is no consumer's work: released again at once, it goes as its SMS if
 * that is what was released, and else its consumer hands the SMS over (the report that would
 * have done it was lost).
 */
export async function reconcileStaleReleases(
  sql: SqlStorage,
  env: Env,
  meta: DispatcherMeta,
  now: number,
): Promise<Rerelease | undefined> {
  const settings = settingsOf(env);
  const timeoutMs = settings.RELEASE_TIMEOUT_SECONDS * 1000;
  const stale = allRows(
    sql,
    `SELECT id, sms_fallback, lane FROM outbox INDEXED BY outbox_released
     WHERE state = 'released' AND released_at <= ? ORDER BY released_at LIMIT 500`,
    now - timeoutMs,
  );
  if (stale.length === 0) {
    return undefined;
  }
  const ids = stale.map((row) => String(row.id));
  const states = new Map<string, LoggedState>();
  for (const db of await logsOf(env, meta.tenantId(sql))) {
    for (const [id, state] of await readStates(db, ids)) {
      states.set(id, state);
    }
  }
  // A consumer handed their outcomes here: they are on their way to D1, not lost.
  const kept = withKeptOutcomes(sql, ids);
  const again: string[] = [];
  const smsFallbacks = new Set<string>();
  const bulk = new Set<string>();
  for (const row of stale) {
    const id = String(row.id);
    const state = states.get(id);
    // `sent` with no send time: a fallback SMS (its WeChat part was sent), not sent itself.
    const awaitsSms = state?.status === "sent" && state.sentAt === null;
    if (state && FINAL_OR_SENT.has(state.status) && !awaitsSms) {
      sql.exec("DELETE FROM outbox WHERE id = ?", id);
      if (state.status === "sent") {
        // Sent at or before now: its receipt falls due by now plus the deadline.
        meta.expectReceiptBy(sql, now + settings.RECEIPT_DEADLINE_SECONDS * 1000);
      }
      continue;
    }
    sql.exec("UPDATE outbox SET released_at = ? WHERE id = ?", now, id);
    const handedOver = state?.claimId === SMS_FALLBACK_CLAIM;
    const inProgress =
      kept.has(id) ||
      (!handedOver &&
        (state?.status === "sending" || awaitsSms) &&
        state !== undefined &&
        state.updatedAt > now - timeoutMs);
    if (!inProgress) {
      again.push(id);
      if (row.sms_fallback === 1) {
        smsFallbacks.add(id);
      }
      if (row.lane === LANE_BULK) {
        bulk.add(id);
      }
    }
  }
  return { ids: again, smsFallbacks, bulk };
}
