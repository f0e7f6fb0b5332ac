/**
 * Reading batches: one with its messages counted by status, whether the D1 send log has it yet or
 * only the tenant's dispatcher does; or a page of them, newest first. A caller reaches only its own
 * mode's, as for messages (message-reads.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { batches, messages } from "../../db/schema";
import { dispatcherOf } from "../../delivery/dispatcher";
import type { BatchRecord } from "../../delivery/dispatcher-types";
import { type Caller, modeSeenBy } from "../../domain/caller";
import type { MessageStatus } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";
import { onEachSendLog } from "./send-log-reads";

/** A batch as its dispatcher records it: what the API presents. */
export type { BatchRecord };

export type BatchStatus = "accepted" | "sending" | "completed" | "canceled";

export interface BatchView {
  record: BatchRecord;
  status: BatchStatus;
  counts: Partial<Record<MessageStatus, number>>;
}

const WAITING: ReadonlySet<MessageStatus> = new Set(["scheduled", "queued"]);
const UNFINISHED: ReadonlySet<MessageStatus> = new Set(["scheduled", "queued", "sending"]);

/**
 * A batch with its messages counted by status; messages not yet in the send log count as waiting
 * (or canceled, once the batch is).
 * One of the other mode is a 404 like a missing one, as a message is (message-reads.ts).
 */
export async function getBatch(env: Env, caller: Caller, id: string): Promise<BatchView> {
  const db = database(env.DB);
  const readLogged = () =>
    db.query.batches.findFirst({
      where: and(eq(batches.id, id), eq(batches.tenantId, caller.tenant.id)),
    });
  // The dispatcher answers only for what D1 lacks; it may have written this batch there after the
  // first read, in which case D1 has it now. Read again rather than answer 404.
  let row = await readLogged();
  const stored = row ? null : await dispatcherOf(env, caller.tenant.id).peekBatch(id);
  if (!row && !stored) {
    row = await readLogged();
  }
  const record = row ?? stored;
  const mode = modeSeenBy(caller);
  if (!record || record.tenantId !== caller.tenant.id || (mode !== null && record.mode !== mode)) {
    throw new ApiError("not-found", `No batch ${id}.`);
  }
  // The batch is on DB; its messages are on the tenant's send-log partitions (a move while it
  // was sending leaves some on each): counted on each, added up.
  const grouped = row
    ? await onEachSendLog(env, caller.tenant, (d1) =>
        database(d1)
          .select({ status: messages.status, n: sql<number>`count(*)` })
          .from(messages)
          .where(and(eq(messages.batchId, id), eq(messages.tenantId, caller.tenant.id)))
          .groupBy(messages.status),
      )
    : [];
  const counts: Partial<Record<MessageStatus, number>> = {};
  let logged = 0;
  for (const { status, n } of grouped.flat()) {
    counts[status] = (counts[status] ?? 0) + n;
    logged += n;
  }
  const unlogged = record.accepted - logged;
  if (unlogged > 0) {
    const status = unloggedStatus(record);
    counts[status] = (counts[status] ?? 0) + unlogged;
  }
  return { record, status: statusOf(record, counts), counts };
}

/** What the batch's messages not yet in the send log are: they wait, or a cancel took them all. */
function unloggedStatus(record: BatchRecord): MessageStatus {
  if (record.canceledAt !== null) {
    return "canceled";
  }
  return record.sendAt > record.createdAt ? "scheduled" : "queued";
}

function statusOf(
  record: BatchRecord,
  counts: Partial<Record<MessageStatus, number>>,
): BatchStatus {
  if (record.canceledAt !== null) {
    return "canceled";
  }
  const entries = Object.entries(counts) as [MessageStatus, number][];
  if (entries.every(([status, n]) => n === 0 || !UNFINISHED.has(status))) {
    return "completed";
  }
  return entries.some(([status, n]) => n > 0 && !WAITING.has(status)) ? "sending" : "accepted";
}

export async function listBatches(
  env: Env,
  caller: Caller,
  page: PageRequest,
): Promise<Page<BatchRecord>> {
  const conditions = [eq(batches.tenantId, caller.tenant.id)];
  const mode = modeSeenBy(caller);
  if (mode !== null) {
    conditions.push(eq(batches.mode, mode));
  }
  const paging = keyset(batches.id, page);
  const rows = await database(env.DB)
    .select()
    .from(batches)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, page, (row) => row.id);
}
