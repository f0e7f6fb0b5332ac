/** Send-log rows written straight into the test D1, for the export's and retention's tests. */
import { env } from "cloudflare:test";
import { database } from "../../src/db/client";
import { messageAttempts, messages } from "../../src/db/schema";
import type { MessageStatus } from "../../src/domain/vocabulary";
import { newId } from "../../src/lib/ids";

export interface MessageFields {
  at: number;
  to?: string;
  from?: string | null;
  body?: string;
  status?: MessageStatus;
  mode?: "live" | "test";
  metadata?: Record<string, string> | null;
  templateParams?: { name: string; value: string }[] | null;
  payload?: Record<string, unknown> | null;
  /** Writes one attempt for it as well. */
  attempt?: boolean;
}

/** A message accepted at `at` (its id from the same time, as the dispatcher's are). */
export async function insertMessage(tenantId: string, fields: MessageFields): Promise<string> {
  const id = newId("msg", fields.at);
  const db = database(env.DB);
  await db.insert(messages).values({
    id,
    tenantId,
    channel: "sms",
    recipient: fields.to ?? "+8613800138000",
    country: "CN",
    sender: fields.from ?? null,
    body: fields.body ?? "hello",
    metadata: fields.metadata ?? null,
    mode: fields.mode ?? "live",
    status: fields.status ?? "delivered",
    segments: 1,
    encoding: "UCS-2",
    templateParams: fields.templateParams ?? null,
    payload: fields.payload ?? null,
    costMicros: 6500,
    currency: "USD",
    createdAt: fields.at,
    sendAt: fields.at,
    updatedAt: fields.at,
  });
  if (fields.attempt) {
    await db.insert(messageAttempts).values({
      id: newId("att", fields.at),
      messageId: id,
      tenantId,
      attempt: 0,
      provider: "sandbox",
      outcome: "sent",
      latencyMs: 5,
      createdAt: fields.at,
    });
  }
  return id;
}
