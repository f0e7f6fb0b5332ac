/** Webhook endpoints and deliveries for the webhook route and queue tests. */
import { env } from "cloudflare:test";
import { emitEvents, type MessageEvent } from "../../src/delivery/webhook-events";
import type { WebhookEvent } from "../../src/domain/vocabulary";
import { postJson, type TestTenant } from "./tenants";

export interface CreatedEndpoint {
  id: string;
  url: string;
  events: WebhookEvent[];
  secret: string;
}

export async function createEndpoint(
  tenant: TestTenant,
  body: { url?: string; events?: WebhookEvent[]; description?: string } = {},
): Promise<CreatedEndpoint> {
  const res = await tenant.api(
    "/v1/webhooks",
    postJson({
      url: body.url ?? "https://hooks.example.com/relaybox",
      events: body.events ?? ["message.sent", "message.delivered"],
      ...(body.description === undefined ? {} : { description: body.description }),
    }),
  );
  if (res.status !== 201) {
    throw new Error(`creating an endpoint answered ${res.status}: ${await res.text()}`);
  }
  return (await res.json()) as CreatedEndpoint;
}

export function messageEvent(
  tenant: { id: string },
  type: WebhookEvent = "message.delivered",
  messageId = `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 26).toUpperCase()}`,
): MessageEvent {
  return {
    type,
    tenantId: tenant.id,
    messageId,
    occurredAt: Date.parse("2026-11-20T08:00:00.000Z"),
    data: { id: messageId, status: type.slice("message.".length), to: "+8613800138000" },
  };
}

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: string;
  attempt_count: number;
  attempts: string;
  next_attempt_at: number | null;
  created_at: number;
}

export async function deliveriesOf(endpointId: string): Promise<DeliveryRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id",
  )
    .bind(endpointId)
    .all<DeliveryRow>();
  return results;
}

export async function deliveryRow(id: string): Promise<DeliveryRow | null> {
  return env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?")
    .bind(id)
    .first<DeliveryRow>();
}

/** Emits with the test env, whose WEBHOOK_QUEUE the worker's own consumer drains. */
export function emit(events: MessageEvent[], now?: number): Promise<void> {
  return emitEvents(env, events, now);
}

/** Emits without queueing: the deliveries exist, but nothing will try to send them. */
export function emitUnqueued(events: MessageEvent[]): Promise<void> {
  const nowhere = { send: async () => undefined, sendBatch: async () => undefined };
  return emitEvents({ ...env, WEBHOOK_QUEUE: nowhere as unknown as Queue }, events);
}
