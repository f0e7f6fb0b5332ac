/** Inbound messages written straight into the test D1, for the handling stages' tests. */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { database } from "../../src/db/client";
import { inboundMessages } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import type { InboundRow } from "../../src/services/inbound/stage";

export async function storeInbound(
  tenantId: string,
  fields: { from?: string; to?: string; body: string; receivedAt?: number },
): Promise<InboundRow> {
  const now = fields.receivedAt ?? Date.now();
  const id = newId("inb", now);
  const [row] = await database(env.DB)
    .insert(inboundMessages)
    .values({
      id,
      tenantId,
      channel: "sms",
      conversationId: newId("cnv", now),
      sender: fields.from ?? "+8613800138123",
      recipient: fields.to ?? "+8610690000",
      body: fields.body,
      provider: "sandbox",
      providerMessageId: id,
      raw: { body: fields.body },
      receivedAt: now,
    })
    .returning();
  if (!row) {
    throw new Error("inbound row vanished");
  }
  return row;
}

export async function inboundRow(id: string): Promise<InboundRow | undefined> {
  return database(env.DB).select().from(inboundMessages).where(eq(inboundMessages.id, id)).get();
}

export const noWait = { waitUntil: () => undefined };
