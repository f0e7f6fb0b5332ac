/**
 * A conversation's thread: its inbound messages (inbound_messages.conversation_id) and the
 * messages sent to its counterpart on its channel (the send log, on each of the tenant's
 * partitions), merged into one list read forward, oldest first, like a chat. Both are paged
 * together on (time, id): an inbound message's time is its receipt, a sent one's its acceptance,
 * and the id breaks ties, so a page ends at one point of the merged order and the next starts
 * right after it whichever table it came from.
 *
 * A reply shows once the dispatcher has written it to the send log (within its next tick); a
 * caller reading to the end of a thread reads again from the last cursor to see what came since.
 */
import type { Caller } from "../../domain/caller";
import { modeSeenBy } from "../../domain/caller";
import type { MessageStatus } from "../../domain/vocabulary";
import { mergeOrdered, sendLogsOf } from "../messaging/send-log-reads";
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

// The inbound side (DB) and the sent side (the tenant's send-log partitions) are read apart, each
// its first rows past the cursor in (time, id) order, then merged: the first `limit` of the whole
// are among the first `limit` of each.
const RECEIVED_SQL = `SELECT id, direction, body, status, at FROM (
    SELECT id, 'inbound' AS direction, body, NULL AS status, received_at AS at
    FROM inbound_messages
    WHERE tenant_id = ?1 AND conversation_id = ?2
      AND (received_at > ?5 OR (received_at = ?5 AND id > ?6))
    UNION ALL
    SELECT id, 'outbound' AS direction, body, 'sent' AS status, created_at AS at
    FROM webchat_messages
    WHERE tenant_id = ?1 AND counterpart = ?3 AND ?4 = 'webchat'
      AND (created_at > ?5 OR (created_at = ?5 AND id > ?6))
  )
  ORDER BY at, id
  LIMIT ?7`;

const SENT_SQL = `SELECT id, 'outbound' AS direction, body, status, created_at AS at
  FROM messages
  WHERE tenant_id = ?1 AND recipient = ?2 AND channel = ?3 AND (?4 IS NULL OR mode = ?4)
    AND (created_at > ?5 OR (created_at = ?5 AND id > ?6))
  ORDER BY at, id
  LIMIT ?7`;

/** Oldest first, the id breaking ties: the thread's order and its cursor's. */
function byTimeThenId(a: ThreadItem, b: ThreadItem): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

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
  const tenantId = caller.tenant.id;
  const { counterpart, channel } = conversation;
  const [received, ...sent] = await Promise.all([
    env.DB.prepare(RECEIVED_SQL)
      .bind(tenantId, conversation.id, counterpart, channel, after.at, after.id, page.limit + 1)
      .all<ThreadItem>(),
    ...sendLogsOf(env, caller.tenant).map((d1) =>
      d1
        .prepare(SENT_SQL)
        .bind(
          tenantId,
          counterpart,
          channel,
          modeSeenBy(caller),
          after.at,
          after.id,
          page.limit + 1,
        )
        .all<ThreadItem>(),
    ),
  ]);
  const results = mergeOrdered(
    [received.results, ...sent.map((answer) => answer.results)],
    byTimeThenId,
    (item) => `${item.direction}:${item.id}`,
    page.limit + 1,
  );
  const data = results.slice(0, page.limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor: results.length > page.limit && last ? encodeCursor(last) : null,
  };
}
