/**
 * Storing an inbound message with its conversation, and its `inbound.received` event: shared by
 * the carriers' inbound hook (services/inbound/receive) and the WeChat account's copy of its inbox
 * to D1 (durable-objects/wechat-account/inbound.ts), so both channels keep conversations alike.
 * The `inbound` statistic is counted by migration 0023's trigger on this insert: a retried hook
 * that stores nothing (ON CONFLICT DO NOTHING) counts nothing.
 */
import type { inboundMessages } from "../db/schema";
import type { Channel } from "../domain/vocabulary";
import { emitEvents } from "./webhook-events";

export type InboundRow = typeof inboundMessages.$inferSelect;

/** What one inbound message is stored as. */
export interface InboundToStore {
  /** A fresh id each try: a retry's id is never stored, so it moves no counter (below). */
  id: string;
  tenantId: string;
  channel: Channel;
  sender: string;
  recipient: string;
  body: string;
  provider: string;
  providerMessageId: string;
  raw: Readonly<Record<string, unknown>>;
  /** What is already done with it: `{done: true}` for a message no stage handles (WeChat). */
  handling?: Readonly<Record<string, unknown>>;
  receivedAt: number;
}

/**
 * The statements that store one inbound message and keep its conversation; run them in one D1
 * batch (a transaction) with whatever else must commit with them. The message is stored once per
 * provider message id (ON CONFLICT DO NOTHING), in its conversation (created on first contact);
 * the conversation's counters, last message and contact move only when the message's own id was
 * stored, so a retry changes nothing. The second statement returns `{id, conversation_id}` when it
 * stored the message, nothing for a retry. `guard`: an SQL condition on ?1 (the tenant) and ?2 (the
 * recipient) that must hold for anything to be stored (WeChat: the app is still the tenant's).
 */
export function inboundStatements(
  d1: D1Database,
  m: InboundToStore,
  guard = "true",
): D1PreparedStatement[] {
  const contact =
    m.channel === "wechat"
      ? `(SELECT contact_id FROM contact_wechat_bindings
           WHERE tenant_id = ?1 AND app_id = ?2 AND openid = ?3 ORDER BY contact_id LIMIT 1)`
      : `(SELECT id FROM contacts WHERE tenant_id = ?1 AND phone = ?3 ORDER BY id LIMIT 1)`;
  const lastMessage = JSON.stringify({ direction: "inbound", body: m.body, at: m.receivedAt });
  return [
    d1
      .prepare(
        `INSERT INTO conversations (id, tenant_id, channel, counterpart, contact_id, last_message,
           last_activity_at, unread_count, created_at)
         SELECT ?4, ?1, ?5, ?3, NULL, NULL, ?6, 0, ?6 WHERE ${guard}
         ON CONFLICT (tenant_id, channel, counterpart) DO NOTHING`,
      )
      .bind(m.tenantId, m.recipient, m.sender, newConversationId(m), m.channel, m.receivedAt),
    d1
      .prepare(
        `INSERT INTO inbound_messages (id, tenant_id, channel, conversation_id, sender, recipient,
           body, provider, provider_message_id, raw, handling, received_at)
         SELECT ?4, ?1, ?5, c.id, ?3, ?2, ?6, ?7, ?8, ?9, ?11, ?10
         FROM conversations AS c
         WHERE c.tenant_id = ?1 AND c.channel = ?5 AND c.counterpart = ?3 AND ${guard}
         ON CONFLICT (tenant_id, provider, provider_message_id) DO NOTHING
         RETURNING id, conversation_id`,
      )
      .bind(
        m.tenantId,
        m.recipient,
        m.sender,
        m.id,
        m.channel,
        m.body,
        m.provider,
        m.providerMessageId,
        JSON.stringify(m.raw),
        m.receivedAt,
        JSON.stringify(m.handling ?? {}),
      ),
    d1
      .prepare(
        `UPDATE conversations SET
           unread_count = unread_count + 1,
           last_message = CASE WHEN ?5 >= last_activity_at THEN ?6 ELSE last_message END,
           last_activity_at = MAX(last_activity_at, ?5),
           contact_id = COALESCE(${contact}, contact_id)
         WHERE id = (SELECT conversation_id FROM inbound_messages WHERE id = ?4)`,
      )
      .bind(m.tenantId, m.recipient, m.sender, m.id, m.receivedAt, lastMessage),
  ];
}

/** `cnv_` with the inbound id's time and randomness: used only if the conversation is new. */
function newConversationId(m: InboundToStore): string {
  return `cnv_${m.id.slice("inb_".length)}`;
}

/** The `inbound.received` event's data: the message as the API shows it. */
export function inboundEventData(row: InboundRow): Record<string, unknown> {
  return {
    id: row.id,
    channel: row.channel,
    from: row.sender,
    to: row.recipient,
    body: row.body,
    conversation_id: row.conversationId,
    received_at: new Date(row.receivedAt).toISOString(),
  };
}

/**
 * Emits `inbound.received` for each row. Its event id is made from the inbound id, so emitting a
 * row's event again (after a failure, on a retry) delivers nothing twice.
 */
export async function emitInboundReceived(env: Env, rows: readonly InboundRow[]): Promise<void> {
  await emitEvents(
    env,
    rows.map((row) => ({
      type: "inbound.received",
      tenantId: row.tenantId,
      messageId: row.id,
      occurredAt: row.receivedAt,
      data: inboundEventData(row),
    })),
  );
}
