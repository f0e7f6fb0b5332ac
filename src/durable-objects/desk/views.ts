/**
 * What the desk object shows: its agents with their load and conversations, its queues per
 * skill, and a new live socket's first words (a greeting, the events it missed, or a reset).
 * Synchronous reads of the object's SQLite, called inside its single-threaded steps.
 */
import type { AgentStatus } from "../../domain/desk";
import { agentLoads, lastSeq, liveSince, queuedConversations } from "./desk-store";

export interface AgentView {
  userId: string;
  skills: string[];
  capacity: number;
  status: AgentStatus;
  load: number;
  idleSince: number;
  conversations: string[];
}

export interface QueueView {
  skill: string | null;
  conversations: { id: string; channel: string; queuedAt: number; expiresAt: number | null }[];
}

export function agentViews(sql: SqlStorage): AgentView[] {
  const held = sql
    .exec<{ id: string; agent_id: string }>(
      `SELECT id, agent_id FROM desk_conversations
       WHERE state IN ('assigned', 'pending') AND agent_id IS NOT NULL ORDER BY id`,
    )
    .toArray();
  return agentLoads(sql).map((a) => ({
    ...a,
    skills: [...a.skills],
    conversations: held.filter((h) => h.agent_id === a.userId).map((h) => h.id),
  }));
}

export function queueViews(sql: SqlStorage): QueueView[] {
  const bySkill = new Map<string | null, QueueView>();
  for (const c of queuedConversations(sql)) {
    const queue = bySkill.get(c.skill) ?? { skill: c.skill, conversations: [] };
    queue.conversations.push({
      id: c.id,
      channel: c.channel,
      queuedAt: c.queuedAt ?? 0,
      expiresAt: c.expiresAt,
    });
    bySkill.set(c.skill, queue);
  }
  return [...bySkill.values()];
}

/**
 * A new socket's first messages: without `after`, `{type: "hello", seq}` (the sequence to resume
 * from); with it, every event after it in order, or `{type: "reset", seq}` when the bounded log no
 * longer holds them all (the client reloads, then connects without `after`).
 */
export function greet(socket: WebSocket, sql: SqlStorage, after: number | null): void {
  const head = lastSeq(sql);
  if (after === null) {
    socket.send(JSON.stringify({ type: "hello", seq: head }));
    return;
  }
  const { events, complete } = liveSince(sql, after);
  if (!complete) {
    socket.send(JSON.stringify({ type: "reset", seq: head }));
    return;
  }
  for (const event of events) {
    socket.send(event);
  }
}
