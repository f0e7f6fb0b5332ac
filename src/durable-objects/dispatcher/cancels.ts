/**
 * Cancels asked of the TenantDispatcher (see tenant-dispatcher.ts): what the outbox has not yet
 * written to the D1 send log is canceled here (the flush writes it as canceled); what the send
 * log has is canceled there, by the status writer, as long as no consumer has claimed it.
 * A message canceled here gives back what it was charged against the budget (budget.ts); one a
 * consumer has already taken off the queue is sent, and stays charged.
 */
import type { CancelOutcome } from "../../delivery/dispatcher-types";
import { cancelLogged } from "../../delivery/status-writer";
import { cancelUnlogged, dropLoggedPending, markStoredBatchCanceled } from "./batch-outbox";
import { refundCharges } from "./budget";
import type { DispatcherMeta } from "./meta";
import { cancelUnloggedMessage, deleteMessage, messageState } from "./outbox-queries";
import { logsOf } from "./partitions";
import { markBatchCanceled } from "./send-log";

/**
 * Cancels a message that has not been released to a provider; `flush` says the outbox has a
 * canceled row for the next run to write to D1. One still on the queue is canceled in D1 before
 * a consumer claims it (the claim only takes queued messages).
 */
export async function cancelMessage(
  sql: SqlStorage,
  env: Env,
  meta: DispatcherMeta,
  id: string,
  now: number,
): Promise<{ outcome: CancelOutcome; flush: boolean }> {
  const row = messageState(sql, id);
  if (!row || row.state === "staged") {
    return { outcome: { kind: "not-found" }, flush: false };
  }
  if (row.state === "canceled") {
    return { outcome: { kind: "canceled" }, flush: false };
  }
  if (row.logged === 0) {
    refundCharges(sql, "id = ?", id);
    cancelUnloggedMessage(sql, id);
    return { outcome: { kind: "canceled" }, flush: true };
  }
  let canceled = 0;
  for (const db of await logsOf(env, meta.tenantId(sql))) {
    canceled += await cancelLogged(env, db, { ids: [id] }, now);
  }
  if (canceled === 0) {
    return { outcome: { kind: "too-late" }, flush: false };
  }
  refundCharges(sql, "id = ?", id);
  if (row.state === "pending" || row.state === "held") {
    deleteMessage(sql, id);
  }
  // A released one leaves when its consumer finds it canceled and reports back.
  return { outcome: { kind: "canceled" }, flush: false };
}

/**
 * Cancels every message of the batch not yet released; returns how many, or null when this
 * dispatcher has not learned its tenant yet (it holds nothing then).
 */
export async function cancelBatchMessages(
  sql: SqlStorage,
  env: Env,
  meta: DispatcherMeta,
  batchId: string,
  now: number,
): Promise<number | null> {
  const tenantId = meta.tenantId(sql);
  if (!tenantId) {
    return null;
  }
  refundCharges(sql, "batch_id = ? AND logged = 0 AND state IN ('pending', 'held')", batchId);
  const unlogged = cancelUnlogged(sql, batchId);
  if (!markStoredBatchCanceled(sql, batchId, now)) {
    await markBatchCanceled(env.DB, tenantId, batchId, now);
  }
  let logged = 0;
  for (const db of await logsOf(env, tenantId)) {
    logged += await cancelLogged(env, db, { tenantId, batchId }, now);
  }
  // Canceled in D1 above, so the pending ones need no release; released ones report back.
  refundCharges(sql, "batch_id = ? AND logged = 1 AND state IN ('pending', 'held')", batchId);
  dropLoggedPending(sql, batchId);
  return unlogged + logged;
}
