/**
 * A conversation's thread: its inbound messages (inbound_messages.conversation_id) and the
 * messages sent to its counterpart on its channel (the send log), merged into one list read
 * forward, oldest first, like a chat. Both are paged together on (time, id): an inbound message's
 * time is its receipt, a sent one's its acceptance, and the id breaks ties, so a page ends at
 * one point of the merged order and the next starts right after it whichever table it came from.
 *
 * A reply shows once the dispatcher has written it to the send log (within its next tick); a
 * caller reading to the end of a thread reads again from the last cursor to see what came since.
 */
import type { Caller } from "../../domain/caller";
import { modeSeenBy } from "../../domain/caller";
import type { MessageStatus } from "../../domain/vocabulary";
import type { ConversationRow } from "./conversations";
import { decodeCursor, encodeCursor } from "./conversations";

export interface ThreadItem {
  id: string;
  direction: "inbound" | "outbound";
  body: string;
  /** The sent message's status; null for an inbound one. */
  status: MessageStatus | null;
  /** Received (inbound) or accepted (outbound), in ms. */
  at: number;
}

const THREAD_SQL = `SELECT id, direction, body, status, at FROM (
    SELECT id, 'inbound' AS direction, body, NULL AS status, received_at AS at
    FROM inbound_messages
    WHERE tenant_id = ?1 AND conversation_id = ?2
      AND (received_at > ?5 OR (received_at = ?5 AND id > ?6))
    UNION ALL
    SELECT id, 'outbound' AS direction, body, status, created_at AS at
    FROM messages
    WHERE tenant_id = ?1 AND recipient = ?3 AND channel = ?4 AND (?7 IS NULL OR mode = ?7)
      AND (created_at > ?5 OR (created_at = ?5 AND id > ?6))
    UNION ALL
    SELECT id, 'outbound' AS direction, body, 'sent' AS status, created_at AS at
    FROM webchat_messages
    WHERE tenant_id = ?1 AND counterpart = ?3 AND ?4 = 'webchat'
      AND (created_at > ?5 OR (created_at = ?5 AND id > ?6))
  )
  ORDER BY at, id
  LIMIT ?8`;

/**
 * A page of the thread after `cursor` (from its start without one). A test key sees only the
 * messages sent in test mode beside the inbound ones, as it sees only those in the send log.
 */
export async function threadOf(
  env: Env,
  caller: Caller,
  conversation: ConversationRow,
  page: { limit: number; cursor?: string },
): Promise<{ data: ThreadItem[]; nextCursor: string | null }> {
  const after = page.cursor ? decodeCursor(page.cursor) : { at: -1, id: "" };
  const { results } = await env.DB.prepare(THREAD_SQL)
    .bind(
      caller.tenant.id,
      conversation.id,
      conversation.counterpart,
      conversation.channel,
      after.at,
      after.id,
      modeSeenBy(caller),
      page.limit + 1,
    )
    .all<ThreadItem>();
  const data = results.slice(0, page.limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor: results.length > page.limit && last ? encodeCursor(last) : null,
  };
}
