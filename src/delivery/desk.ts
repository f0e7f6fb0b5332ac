/**
 * The service desk between its object and D1: the tenant's desk stub, and the projection of the
 * object's moves into D1 (the conversation's state, agent, skill and due time, guarded by the
 * object's version so a late write never undoes a newer one; the move as a conversation event)
 * with their webhook events (`conversation.created|assigned|resolved`, ids made from the move, so
 * a repeat delivers nothing twice).
 */
import type { DeskState } from "../domain/desk";
import { newId } from "../lib/ids";
import { emitEvents, type MessageEvent } from "./webhook-events";

export type DeskStub = ReturnType<Env["DESK"]["get"]>;

/** The tenant's desk; the name is derived from our own id, never user input. */
export function deskOf(env: Env, tenantId: string): DeskStub {
  return env.DESK.get(env.DESK.idFromName(`tenant:${tenantId}`));
}

/** One move the desk made. */
export interface DeskMove {
  conversationId: string;
  from: DeskState | null;
  to: DeskState;
  agentId: string | null;
  skill: string | null;
  dueAt: number | null;
  version: number;
  /** A user id, `customer`, `system`, or an API key id. */
  actor: string;
  /** Why, when it is not plain (`after_hours`, `no_agent`, `queue_timeout`, `transfer`…). */
  reason: string | null;
  at: number;
}

/** The move's view in live events, webhooks and the API. */
export function moveView(move: DeskMove): Record<string, unknown> {
  return {
    conversation_id: move.conversationId,
    from_state: move.from,
    state: move.to,
    agent_id: move.agentId,
    skill: move.skill,
    due_at: move.dueAt === null ? null : new Date(move.dueAt).toISOString(),
    actor: move.actor,
    reason: move.reason,
    at: new Date(move.at).toISOString(),
  };
}

/** Writes the moves to D1 (one batch) and emits their webhook events. */
export async function projectMoves(
  env: Env,
  tenantId: string,
  moves: readonly DeskMove[],
): Promise<void> {
  if (moves.length === 0) {
    return;
  }
  const statements = moves.flatMap((m) => [
    env.DB.prepare(
      `UPDATE conversations SET desk_state = ?1, agent_id = ?2, skill = ?3, due_at = ?4,
         desk_version = ?5
       WHERE id = ?6 AND tenant_id = ?7 AND desk_version < ?5`,
    ).bind(m.to, m.agentId, m.skill, m.dueAt, m.version, m.conversationId, tenantId),
    env.DB.prepare(
      `INSERT OR IGNORE INTO conversation_events
         (id, tenant_id, conversation_id, type, from_state, to_state, agent_id, actor, detail, at)
       VALUES (?1, ?2, ?3, 'state', ?4, ?5, ?6, ?7, ?8, ?9)`,
    ).bind(
      `cev_${tenantId.slice(4)}_${m.version}`,
      tenantId,
      m.conversationId,
      m.from,
      m.to,
      m.agentId,
      m.actor,
      // The due time goes on the event too: reports judge a left message's answer against it.
      JSON.stringify({
        ...(m.reason ? { reason: m.reason } : {}),
        ...(m.to === "left_message" && m.dueAt !== null ? { due_at: m.dueAt } : {}),
      }),
      m.at,
    ),
  ]);
  await env.DB.batch(statements);
  await emitEvents(
    env,
    moves.flatMap((m) => webhookEventsOf(tenantId, m)),
  );
  await enqueueTimeoutAnswers(env, tenantId, moves);
}

/**
 * A job on INBOUND_QUEUE: send the tenant's `no_agent_answer` to a conversation that waited past
 * `max_queue_seconds`, or (`answer: "satisfaction"`) the satisfaction question after a resolution
 * (the desk's object cannot call the send service). Sent once per move: the send's idempotency
 * key is made from the conversation and the move's version. The consumer checks the settings.
 */
export interface DeskAnswerJob {
  v: 1;
  kind: "desk_answer";
  tenant_id: string;
  conversation_id: string;
  version: number;
  answer?: "no_agent" | "satisfaction";
}

/**
 * The moves that are queue time-outs get their automatic answer, resolutions the satisfaction
 * question (enqueued again on a retry: the send is keyed by the move).
 */
async function enqueueTimeoutAnswers(
  env: Env,
  tenantId: string,
  moves: readonly DeskMove[],
): Promise<void> {
  const jobs = moves
    .filter((m) => (m.to === "left_message" && m.reason === "queue_timeout") || m.to === "resolved")
    .map((m): { body: DeskAnswerJob } => ({
      body: {
        v: 1,
        kind: "desk_answer",
        tenant_id: tenantId,
        conversation_id: m.conversationId,
        version: m.version,
        ...(m.to === "resolved" ? { answer: "satisfaction" as const } : {}),
      },
    }));
  for (let i = 0; i < jobs.length; i += 100) {
    await env.INBOUND_QUEUE.sendBatch(jobs.slice(i, i + 100));
  }
}

/** The `data` of a `conversation.*` event (webhook-doc.ts: ConversationEventData). */
export function conversationEventData(move: DeskMove): Record<string, unknown> {
  return { id: move.conversationId, ...moveView(move) };
}

function webhookEventsOf(tenantId: string, move: DeskMove): MessageEvent[] {
  const event = (type: MessageEvent["type"]): MessageEvent => ({
    type,
    tenantId,
    // The event id is made from this and the type: one event per move.
    messageId: `${move.conversationId}:${move.version}`,
    occurredAt: move.at,
    data: conversationEventData(move),
  });
  const events: MessageEvent[] = [];
  if (move.from === null) {
    events.push(event("conversation.created"));
  }
  if (move.to === "assigned") {
    events.push(event("conversation.assigned"));
  }
  if (move.to === "resolved") {
    events.push(event("conversation.resolved"));
  }
  return events;
}

/** An internal note or a satisfaction answer on a conversation's event list. */
export async function recordConversationEvent(
  env: Env,
  event: {
    tenantId: string;
    conversationId: string;
    type: "note" | "satisfaction";
    actor: string;
    detail: Record<string, unknown>;
    at: number;
  },
): Promise<string> {
  const id = newId("cev", event.at);
  await env.DB.prepare(
    `INSERT INTO conversation_events
       (id, tenant_id, conversation_id, type, from_state, to_state, agent_id, actor, detail, at)
     VALUES (?1, ?2, ?3, ?4, NULL, NULL, NULL, ?5, ?6, ?7)`,
  )
    .bind(
      id,
      event.tenantId,
      event.conversationId,
      event.type,
      event.actor,
      JSON.stringify(event.detail),
      event.at,
    )
    .run();
  return id;
}
