/**
 * Reading messages: one with its attempts, whether the D1 send log has it yet or only the tenant's
 * dispatcher does; or a page of the send log, newest first. A caller reaches only its own mode's.
 * The send log is read over every partition holding the tenant's messages (send-log-reads.ts).
 */
import { and, eq, gte, lte, type SQL } from "drizzle-orm";
import { database } from "../../db/client";
import { findMessage, type MessageRow } from "../../db/message-log";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { messageAttempts, messages } from "../../db/schema";
import {
  initialStatus,
  type PendingMessage,
  QUIET_HOURS_REASON,
} from "../../delivery/dispatcher-types";
import { type Caller, modeSeenBy } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import type { MessageStatus, SendChannel } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";
import { firstAnswer, shardStubs } from "./dispatch-shards";
import { mergeOrdered, newestFirst, onEachSendLog } from "./send-log-reads";

/** A message as the send log holds it: what the API and the dashboard present. */
export type { MessageRow };

export type AttemptRow = typeof messageAttempts.$inferSelect;

/**
 * A message with its attempts, whether it is in the D1 send log yet or still only accepted. One of
 * the other mode is a 404 like a missing one: a test key never reaches a live message.
 */
export async function getMessage(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ message: MessageRow; attempts: AttemptRow[] }> {
  const found = await findInSendLogOrOutbox(env, caller, id);
  const mode = modeSeenBy(caller);
  if (!found || (mode !== null && found.message.mode !== mode)) {
    throw new ApiError("not-found", `No message ${id}.`);
  }
  return found;
}

async function findInSendLogOrOutbox(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ message: MessageRow; attempts: AttemptRow[] } | undefined> {
  const logged = await loggedMessage(env, caller, id);
  if (logged) {
    return logged;
  }
  const pending = await firstAnswer(shardStubs(env, caller.tenant.id, caller.tenant), (stub) =>
    stub.peek(id),
  );
  if (pending) {
    return { message: outboxView(pending), attempts: [] };
  }
  // The dispatcher answers only for what D1 lacks; it may have written this message there after
  // the read above, in which case D1 has it now. Read again rather than answer 404.
  return loggedMessage(env, caller, id);
}

/** The message from the first of the tenant's send-log partitions that has it, with its attempts. */
async function loggedMessage(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ message: MessageRow; attempts: AttemptRow[] } | undefined> {
  const found = await onEachSendLog(env, caller.tenant, async (d1) => {
    const db = database(d1);
    const row = await findMessage(db, caller.tenant.id, id);
    return row ? { db, row } : undefined;
  });
  const first = found.find((f) => f !== undefined);
  if (!first) {
    return undefined;
  }
  // A message's attempts are written beside it, on the partition that holds it.
  const attempts = await first.db
    .select()
    .from(messageAttempts)
    .where(eq(messageAttempts.messageId, first.row.id))
    .orderBy(messageAttempts.attempt);
  return { message: first.row, attempts };
}

/** A message the D1 send log does not have yet, as the send log will show it. */
function outboxView({ message, canceled, heldUntil }: PendingMessage): MessageRow {
  return {
    ...message,
    payload: message.payload ? (JSON.parse(message.payload) as Record<string, unknown>) : null,
    status: canceled ? "canceled" : heldUntil !== null ? "scheduled" : initialStatus(message),
    statusReason: canceled ? "canceled by request" : heldUntil !== null ? QUIET_HOURS_REASON : null,
    // As the 202 said (heldView): a held message goes when the window ends.
    sendAt: heldUntil ?? message.sendAt,
    // Absent from messages accepted before they were carried (as the send log has them then).
    country: message.country ?? null,
    signName: message.signName ?? null,
    currency: message.currency ?? null,
    provider: null,
    providerMessageId: null,
    attemptCount: 0,
    claimId: null,
    claimedUntil: 0,
    updatedAt: message.createdAt,
    sentAt: null,
    completedAt: null,
  };
}

/** What the list and the export filter by: the same rule for both. */
export interface MessageFilters {
  status?: MessageStatus;
  to?: string;
  /** The dashboard's further filters (the API's list takes the four others). */
  channel?: SendChannel;
  templateId?: string;
  batchId?: string;
  since?: number;
  until?: number;
}

export interface ListFilters extends MessageFilters, PageRequest {}

/** The caller's messages (its own tenant, its own mode) that pass the filters, as SQL. */
function filterConditions(caller: Caller, filters: MessageFilters): SQL[] {
  const conditions = [eq(messages.tenantId, caller.tenant.id)];
  const mode = modeSeenBy(caller);
  if (mode !== null) {
    conditions.push(eq(messages.mode, mode));
  }
  if (filters.status) {
    conditions.push(eq(messages.status, filters.status));
  }
  if (filters.to) {
    const phone = normalisePhone(filters.to, caller.tenant.homeCountry);
    conditions.push(eq(messages.recipient, phone.ok ? phone.e164 : filters.to));
  }
  if (filters.channel) {
    conditions.push(eq(messages.channel, filters.channel));
  }
  if (filters.templateId) {
    conditions.push(eq(messages.templateId, filters.templateId));
  }
  if (filters.batchId) {
    conditions.push(eq(messages.batchId, filters.batchId));
  }
  if (filters.since !== undefined) {
    conditions.push(gte(messages.createdAt, filters.since));
  }
  if (filters.until !== undefined) {
    conditions.push(lte(messages.createdAt, filters.until));
  }
  return conditions;
}

/**
 * A page of the caller's messages, newest first. Over several send-log partitions each answers
 * the same keyset query (same cursor, same limit) and the answers are merged by id: the page and
 * its next cursor are those one database holding every row would give.
 */
export async function listMessages(
  env: Env,
  caller: Caller,
  filters: ListFilters,
): Promise<Page<MessageRow>> {
  const paging = keyset(messages.id, filters);
  const where = and(...filterConditions(caller, filters), paging.after);
  const answers = await onEachSendLog(env, caller.tenant, (d1) =>
    database(d1).select().from(messages).where(where).orderBy(paging.orderBy).limit(paging.limit),
  );
  const idOf = (row: MessageRow) => row.id;
  const rows = mergeOrdered(answers, newestFirst(idOf), idOf, paging.limit);
  return pageOf(rows, filters, idOf);
}

/**
 * Every message the filters pass, newest first, a page of `pageSize` at a time by cursor (as the
 * list pages): an export reads a million rows with one page in memory at once.
 */
export async function* messagePages(
  env: Env,
  caller: Caller,
  filters: MessageFilters,
  pageSize: number,
): AsyncGenerator<MessageRow[], void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await listMessages(env, caller, { ...filters, limit: pageSize, cursor });
    if (page.data.length > 0) {
      yield page.data;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
