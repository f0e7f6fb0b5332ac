/**
 * Batches in the outbox: a batch's messages are `staged` (invisible) until it commits, and a
 * committed batch's record waits in `batches` until it is written to D1. A batch's ids follow
 * from its Idempotency-Key, so an upload retried after a lost answer stages the same rows again:
 * staging is harmless twice, and a committed batch is remembered so it never commits twice.
 */
import {
  type BatchRecord,
  batchRecordSchema,
  type OutboxMessage,
} from "../../delivery/dispatcher-types";
import { firstRow } from "../../lib/sql-rows";

/** A batch upload that has not committed by then is abandoned and its staged rows dropped. */
export const STAGED_TTL_MS = 10 * 60 * 1000;
/**
 * How long a committed batch is remembered: past the 24 h an Idempotency-Key is kept (a retry can
 * only re-run the upload while its key's record lives), with an hour to spare for that re-run.
 */
export const COMMITTED_MEMORY_MS = 25 * 60 * 60 * 1000;

/** A committed batch whose record is not yet in D1, or null. */
export function storedBatch(sql: SqlStorage, id: string): BatchRecord | null {
  const row = firstRow(sql, "SELECT record FROM batches WHERE id = ?", id);
  return row ? batchRecordSchema.parse(JSON.parse(String(row.record))) : null;
}

/** Whether the batch was committed here, even if it has long reached D1 and been sent. */
export function isCommitted(sql: SqlStorage, batchId: string): boolean {
  return (
    firstRow(sql, "SELECT 1 AS found FROM committed_batches WHERE id = ?", batchId) !== undefined
  );
}

/** The messages whose batch (if any) was not committed here already: those a part may stage. */
export function notCommitted(sql: SqlStorage, messages: readonly OutboxMessage[]): OutboxMessage[] {
  // Asked once per batch, not per row: a part is thousands of rows of one batch.
  const committed = new Map<string, boolean>();
  const wasCommitted = (batchId: string) => {
    if (!committed.has(batchId)) {
      committed.set(batchId, isCommitted(sql, batchId));
    }
    return committed.get(batchId) === true;
  };
  return messages.filter((m) => m.batchId === null || !wasCommitted(m.batchId));
}

/** How many of a batch's messages are staged (an index count, no row read). */
export function stagedCount(sql: SqlStorage, batchId: string): number {
  return Number(
    firstRow(
      sql,
      "SELECT COUNT(*) AS n FROM outbox WHERE batch_id = ? AND state = 'staged'",
      batchId,
    )?.n ?? 0,
  );
}

/** A staged batch's messages with their estimated cost, in the order they were staged. */
export function stagedCharges(
  sql: SqlStorage,
  batchId: string,
): { id: string; costMicros: number }[] {
  return sql
    .exec<{ id: string; cost: number }>(
      `SELECT id, json_extract(message, '$.costMicros') AS cost FROM outbox
       WHERE batch_id = ? AND state = 'staged' ORDER BY seq`,
      batchId,
    )
    .toArray()
    .map((row) => ({ id: row.id, costMicros: Number(row.cost ?? 0) }));
}

/** Drops these staged messages (refused by the budget as their batch commits). */
export function dropStagedMessages(sql: SqlStorage, ids: readonly string[]): void {
  for (const id of ids) {
    sql.exec("DELETE FROM outbox WHERE id = ? AND state = 'staged'", id);
  }
}

/**
 * Makes the staged rows sendable and keeps the record for the D1 log; false, changing nothing,
 * when they are not all there.
 */
export function commitStaged(
  sql: SqlStorage,
  record: BatchRecord,
  now: number,
  expected: number = record.accepted,
): boolean {
  if (stagedCount(sql, record.id) !== expected) {
    return false;
  }
  sql.exec(
    "UPDATE outbox SET state = 'pending', staged_at = NULL WHERE batch_id = ? AND state = 'staged'",
    record.id,
  );
  sql.exec("INSERT INTO batches (id, record) VALUES (?, ?)", record.id, JSON.stringify(record));
  sql.exec(
    "INSERT INTO committed_batches (id, forget_at) VALUES (?, ?)",
    record.id,
    now + COMMITTED_MEMORY_MS,
  );
  return true;
}

/** Cancels the batch's messages not yet in D1 (the flush writes them as canceled); how many. */
export function cancelUnlogged(sql: SqlStorage, batchId: string): number {
  // Counted by RETURNING: `rowsWritten` counts the index entries written as well.
  return sql
    .exec(
      `UPDATE outbox SET state = 'canceled'
       WHERE batch_id = ? AND logged = 0 AND state IN ('pending', 'held') RETURNING seq`,
      batchId,
    )
    .toArray().length;
}

/** Records the cancel in the batch's record if it is still here; false when it is in D1 already. */
export function markStoredBatchCanceled(sql: SqlStorage, batchId: string, now: number): boolean {
  const record = storedBatch(sql, batchId);
  if (!record) {
    return false;
  }
  record.canceledAt ??= now;
  sql.exec("UPDATE batches SET record = ? WHERE id = ?", JSON.stringify(record), batchId);
  return true;
}

/** Drops the batch's waiting messages that D1 has (canceled there, so they need no release). */
export function dropLoggedPending(sql: SqlStorage, batchId: string): void {
  sql.exec(
    "DELETE FROM outbox WHERE batch_id = ? AND logged = 1 AND state IN ('pending', 'held')",
    batchId,
  );
}

/** Drops a batch's staged rows: it will not be committed (it is composed again, as another). */
export function dropStaged(sql: SqlStorage, batchId: string): void {
  sql.exec("DELETE FROM outbox WHERE batch_id = ? AND state = 'staged'", batchId);
}

export function dropAbandonedStages(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM outbox WHERE state = 'staged' AND staged_at <= ?", now - STAGED_TTL_MS);
}

export function forgetCommittedBatches(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM committed_batches WHERE forget_at <= ?", now);
  // A budget cut (budget.ts) is remembered exactly as long as its batch.
  sql.exec("DELETE FROM budget_cuts WHERE batch_id NOT IN (SELECT id FROM committed_batches)");
}
