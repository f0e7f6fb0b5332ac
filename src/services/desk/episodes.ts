/**
 * The desk's handled episodes (domain/desk-reports) read from the conversations' desk events: the
 * one reading the reports and the inspections share. Moves and satisfaction answers are read
 * (notes are not: they change no figure).
 */
import { type DeskEvent, episodesOf, type HandledEpisode } from "../../domain/desk-reports";

interface EventRow {
  conversation_id: string;
  type: string;
  from_state: string | null;
  to_state: string | null;
  agent_id: string | null;
  detail: string;
  at: number;
}

const COLUMNS = "conversation_id, type, from_state, to_state, agent_id, detail, at";

/**
 * One conversation's episodes, oldest first; or, for a range, the episodes resolved in
 * [from, to) (whole conversations are read, so an episode handed off before `from` counts whole).
 */
export async function deskEpisodes(
  env: Env,
  tenantId: string,
  where: { conversationId: string } | { from: number; to: number },
): Promise<HandledEpisode[]> {
  const { results } =
    "conversationId" in where
      ? await env.DB.prepare(
          `SELECT ${COLUMNS} FROM conversation_events
           WHERE tenant_id = ?1 AND conversation_id = ?2 AND type IN ('state', 'satisfaction')
           ORDER BY at, id`,
        )
          .bind(tenantId, where.conversationId)
          .all<EventRow>()
      : await env.DB.prepare(
          `SELECT ${COLUMNS} FROM conversation_events
           WHERE tenant_id = ?1 AND type IN ('state', 'satisfaction') AND conversation_id IN (
             SELECT conversation_id FROM conversation_events
             WHERE tenant_id = ?1 AND type = 'state' AND to_state = 'resolved'
               AND at >= ?2 AND at < ?3)
           ORDER BY conversation_id, at, id`,
        )
          .bind(tenantId, where.from, where.to)
          .all<EventRow>();
  const byConversation = new Map<string, DeskEvent[]>();
  for (const row of results) {
    const list = byConversation.get(row.conversation_id) ?? [];
    list.push({
      conversationId: row.conversation_id,
      type: row.type,
      fromState: row.from_state,
      toState: row.to_state,
      agentId: row.agent_id,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
      at: row.at,
    });
    byConversation.set(row.conversation_id, list);
  }
  const episodes = [...byConversation.values()].flatMap((list) => episodesOf(list));
  return "conversationId" in where
    ? episodes
    : episodes.filter((e) => e.resolvedAt >= where.from && e.resolvedAt < where.to);
}
