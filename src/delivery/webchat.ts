/**
 * Web chat between its object and the rest: the tenant's hub stub, storing a visitor's message
 * as an inbound message of the `webchat` channel (the same statements, conversation and handling
 * queue as an SMS: robot, handoff, queues, agents, reports), and the view of what goes back.
 */
import type { InboundRow } from "./inbound-store";
import { inboundStatements } from "./inbound-store";

export type WebchatStub = ReturnType<Env["WEBCHAT"]["get"]>;

/** The tenant's web chat hub; the name comes from our own id, never from the widget key. */
export function webchatOf(env: Env, tenantId: string): WebchatStub {
  return env.WEBCHAT.get(env.WEBCHAT.idFromName(`tenant:${tenantId}`));
}

/** What a socket carries, attached to it (kept across hibernation). */
export interface VisitorSocket {
  tenantId: string;
  keyId: string;
  origin: string;
  counterpart: string;
  name: string | null;
}

/** One message to a visitor (from the robot or an agent). */
export interface OutgoingWebchat {
  id: string;
  counterpart: string;
  body: string;
  from: "agent" | "robot" | "system";
  at: number;
}

export function outgoingView(m: OutgoingWebchat): Record<string, unknown> {
  return {
    type: "message",
    id: m.id,
    from: m.from,
    body: m.body,
    at: new Date(m.at).toISOString(),
  };
}

/**
 * Stores a visitor's message (once per its id: a resend after a dropped socket stores nothing)
 * and queues its handling. Returns the stored row's conversation, or null for a repeat.
 */
export async function storeVisitorMessage(
  env: Env,
  visitor: VisitorSocket,
  message: { id: string; clientId: string; body: string; at: number },
): Promise<{ conversationId: string; inboundId: string } | null> {
  const results = await env.DB.batch<{ id: string; conversation_id: string }>(
    inboundStatements(env.DB, {
      id: message.id,
      tenantId: visitor.tenantId,
      channel: "webchat",
      sender: visitor.counterpart,
      recipient: visitor.keyId,
      body: message.body,
      provider: "webchat",
      providerMessageId: `${visitor.counterpart}:${message.clientId}`,
      raw: { origin: visitor.origin, name: visitor.name, client_id: message.clientId },
      receivedAt: message.at,
    }),
  );
  const stored = results[1]?.results[0];
  if (!stored) {
    return null;
  }
  await env.INBOUND_QUEUE.send({ v: 1, inbound_id: stored.id });
  return { conversationId: stored.conversation_id, inboundId: stored.id };
}

/**
 * The id of a message to a visitor: made from what must not send twice (an inbound id for the
 * robot's answers, the request's idempotency key for an agent's reply), else fresh.
 */
export async function outgoingIdOf(seed: string | null, fresh: () => string): Promise<string> {
  if (seed === null) {
    return fresh();
  }
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed)),
  );
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  return `wcm_${Array.from(digest.slice(0, 26), (b) => alphabet.charAt(b % 32)).join("")}`;
}

/**
 * Sends (or keeps for the visitor's return) one message on a web chat conversation, and records
 * it for the conversation's thread (webchat_messages).
 */
export async function sendToVisitor(
  env: Env,
  tenantId: string,
  message: OutgoingWebchat,
): Promise<{ stored: boolean; delivered: boolean }> {
  // The thread's copy first (once per id): a message the visitor sees is always in the thread.
  await env.DB.prepare(
    `INSERT OR IGNORE INTO webchat_messages (id, tenant_id, counterpart, body, sender, created_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  )
    .bind(message.id, tenantId, message.counterpart, message.body, message.from, message.at)
    .run();
  return webchatOf(env, tenantId).deliver(message);
}

export type { InboundRow };
