/** Building outbox messages and reading the send log directly, for dispatcher and queue tests. */
import { env } from "cloudflare:test";
import type { OutboxMessage } from "../../src/delivery/dispatcher-types";
import { newId } from "../../src/lib/ids";

export function outboxMessage(
  tenantId: string,
  recipient: string,
  overrides: Partial<OutboxMessage> = {},
): OutboxMessage {
  const now = Date.now();
  return {
    id: newId("msg", now),
    tenantId,
    channel: "sms",
    recipient,
    sender: null,
    body: "test body",
    metadata: null,
    mode: "test",
    segments: 1,
    encoding: "GSM-7",
    idempotencyKey: null,
    createdAt: now,
    sendAt: now,
    batchId: null,
    templateId: null,
    templateVersion: null,
    templateParams: null,
    payload: null,
    kind: "notification",
    costMicros: 6500,
    lane: "transactional",
    ...overrides,
  };
}

export async function statusOf(id: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM messages WHERE id = ?")
    .bind(id)
    .first<{ status: string }>();
  return row?.status;
}

export async function attemptsOf(id: string): Promise<{ attempt: number; outcome: string }[]> {
  const { results } = await env.DB.prepare(
    "SELECT attempt, outcome FROM message_attempts WHERE message_id = ? ORDER BY attempt",
  )
    .bind(id)
    .all<{ attempt: number; outcome: string }>();
  return results;
}
