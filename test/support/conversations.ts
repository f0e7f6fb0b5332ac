/**
 * Conversations and their inbound messages, written straight into the test D1 as the inbound
 * hooks will write them; and sent messages in the send log with chosen times, for thread order.
 */
import { env } from "cloudflare:test";
import { newId } from "../../src/lib/ids";

export interface ConversationSeed {
  channel?: "sms" | "wechat";
  counterpart: string;
  lastActivityAt?: number;
  unreadCount?: number;
  lastMessage?: { direction: "inbound" | "outbound"; body: string; at: number } | null;
  contactId?: string | null;
}

export async function insertConversation(tenantId: string, seed: ConversationSeed) {
  const at = seed.lastActivityAt ?? Date.now();
  const id = newId("cnv", at);
  await env.DB.prepare(
    `INSERT INTO conversations (id, tenant_id, channel, counterpart, contact_id, last_message,
       last_activity_at, unread_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      tenantId,
      seed.channel ?? "sms",
      seed.counterpart,
      seed.contactId ?? null,
      seed.lastMessage ? JSON.stringify(seed.lastMessage) : null,
      at,
      seed.unreadCount ?? 0,
      at,
    )
    .run();
  return id;
}

export async function insertInbound(
  tenantId: string,
  conversation: { id: string; channel?: "sms" | "wechat"; counterpart: string },
  message: { body: string; at: number; to?: string },
) {
  const id = newId("inb", message.at);
  await env.DB.prepare(
    `INSERT INTO inbound_messages (id, tenant_id, channel, conversation_id, sender, recipient, body,
       provider, provider_message_id, raw, handling, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', '{}', ?)`,
  )
    .bind(
      id,
      tenantId,
      conversation.channel ?? "sms",
      conversation.id,
      conversation.counterpart,
      message.to ?? "+8610690000",
      message.body,
      conversation.channel === "wechat" ? "wechat" : "sandbox",
      id,
      message.at,
    )
    .run();
  return id;
}

/** A sent message in the send log, accepted at `at`. */
export async function insertSent(
  tenantId: string,
  message: {
    to: string;
    body: string;
    at: number;
    channel?: "sms" | "wechat";
    mode?: "live" | "test";
    status?: string;
  },
) {
  const id = newId("msg", message.at);
  await env.DB.prepare(
    `INSERT INTO messages (id, tenant_id, channel, recipient, body, mode, status, segments,
       encoding, created_at, send_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'UCS-2', ?, ?, ?)`,
  )
    .bind(
      id,
      tenantId,
      message.channel ?? "sms",
      message.to,
      message.body,
      message.mode ?? "live",
      message.status ?? "delivered",
      message.at,
      message.at,
      message.at,
    )
    .run();
  return id;
}

export interface ThreadItem {
  id: string;
  direction: string;
  body: string;
  status: string | null;
  at: string;
}

/** Every page of a list, following next_cursor; `path` has its query string started. */
export async function allPages<T>(
  api: (path: string) => Promise<Response>,
  path: string,
  limit: number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const res = await api(`${path}limit=${limit}${query}`);
    if (res.status !== 200) {
      throw new Error(`page ${pages + 1}: ${res.status} ${await res.text()}`);
    }
    const page = (await res.json()) as { data: T[]; next_cursor: string | null };
    items.push(...page.data);
    cursor = page.next_cursor;
    pages++;
  } while (cursor !== null && pages < 50);
  return { items, pages };
}
