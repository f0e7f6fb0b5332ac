/**
 * Conversations (`cnv_`): one per tenant × channel × counterpart (a phone number or an openid).
 * The inbound hooks create them and count their unread messages; here they are listed (most recent
 * activity first), read, marked read, and read as one thread of both directions (thread.ts).
 */
import { and, desc, eq, gte, inArray, lt, or, type SQL } from "drizzle-orm";
import { database } from "../../db/client";
import { conversations } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import type { DeskState } from "../../domain/desk";
import type { Channel } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";

export type ConversationRow = typeof conversations.$inferSelect;

export interface ConversationFilters {
  limit: number;
  /** `<last_activity_at ms>.<id>` of the last conversation on the page before. */
  cursor?: string;
  channel?: Channel;
  /** Only conversations with activity at or after this time (ms). */
  since?: number;
  /** Only conversations in these desk states (the service desk's workspace). */
  deskStates?: DeskState[];
  /** Only the conversations of this agent (`usr_…`). */
  agentId?: string;
}

/** A list cursor: a time (ms) and an id, the keyset of lists ordered by time, then id. */
export interface TimeCursor {
  at: number;
  id: string;
}

export function encodeCursor(cursor: TimeCursor): string {
  return `${cursor.at}.${cursor.id}`;
}

/** The cursor's parts; the routes check its shape, so a bad one here is a 400 all the same. */
export function decodeCursor(cursor: string, pointer = "/query/cursor"): TimeCursor {
  const match = /^(\d{1,16})\.([a-z]{3}_[0-9A-Z]{26})$/.exec(cursor);
  if (!match?.[1] || !match[2]) {
    throw new ApiError("validation-error", "The cursor is not one this list gave.", {
      errors: [{ pointer, detail: "not a cursor of this list" }],
    });
  }
  return { at: Number(match[1]), id: match[2] };
}

/** A page of the tenant's conversations, the most recent activity first (then the higher id). */
export async function listConversations(
  env: Env,
  caller: Caller,
  filters: ConversationFilters,
): Promise<{ data: ConversationRow[]; nextCursor: string | null }> {
  const conditions: (SQL | undefined)[] = [eq(conversations.tenantId, caller.tenant.id)];
  if (filters.channel) {
    conditions.push(eq(conversations.channel, filters.channel));
  }
  if (filters.deskStates && filters.deskStates.length > 0) {
    conditions.push(inArray(conversations.deskState, filters.deskStates));
  }
  if (filters.agentId !== undefined) {
    conditions.push(eq(conversations.agentId, filters.agentId));
  }
  if (filters.since !== undefined) {
    conditions.push(gte(conversations.lastActivityAt, filters.since));
  }
  if (filters.cursor) {
    const after = decodeCursor(filters.cursor);
    conditions.push(
      or(
        lt(conversations.lastActivityAt, after.at),
        and(eq(conversations.lastActivityAt, after.at), lt(conversations.id, after.id)),
      ),
    );
  }
  const rows = await database(env.DB)
    .select()
    .from(conversations)
    .where(and(...conditions))
    .orderBy(desc(conversations.lastActivityAt), desc(conversations.id))
    .limit(filters.limit + 1);
  const data = rows.slice(0, filters.limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor:
      rows.length > filters.limit && last
        ? encodeCursor({ at: last.lastActivityAt, id: last.id })
        : null,
  };
}

/** One of the caller's conversations; another tenant's is a 404 like a missing one. */
export async function getConversation(
  env: Env,
  caller: Caller,
  id: string,
): Promise<ConversationRow> {
  const row = await database(env.DB).query.conversations.findFirst({
    where: and(eq(conversations.id, id), eq(conversations.tenantId, caller.tenant.id)),
  });
  if (!row) {
    throw new ApiError("not-found", `No conversation ${id}.`);
  }
  return row;
}

/**
 * Marks a conversation read: its unread count goes back to 0. Reading the thread does not (a GET
 * changes nothing, and a key that may only read should not clear what an agent has yet to see).
 */
export async function markConversationRead(
  env: Env,
  caller: Caller,
  id: string,
): Promise<ConversationRow> {
  const [row] = await database(env.DB)
    .update(conversations)
    .set({ unreadCount: 0 })
    .where(and(eq(conversations.id, id), eq(conversations.tenantId, caller.tenant.id)))
    .returning();
  if (!row) {
    throw new ApiError("not-found", `No conversation ${id}.`);
  }
  return row;
}

/**
 * Records a reply as the conversation's last message (unless something newer is there already)
 * and marks it read: whoever answers has read what they answer.
 */
export async function recordReply(
  env: Env,
  conversation: ConversationRow,
  reply: { body: string; at: number },
): Promise<void> {
  const lastMessage = JSON.stringify({
    direction: "outbound",
    body: reply.body,
    at: reply.at,
  });
  await env.DB.prepare(
    `UPDATE conversations
     SET unread_count = 0,
         last_message = CASE WHEN last_activity_at <= ?1 THEN ?2 ELSE last_message END,
         last_activity_at = MAX(last_activity_at, ?1)
     WHERE id = ?3 AND tenant_id = ?4`,
  )
    .bind(reply.at, lastMessage, conversation.id, conversation.tenantId)
    .run();
}
