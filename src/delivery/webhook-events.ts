/**
 * Emitting events to tenants' webhook endpoints. Called on the send path (dispatch consumer,
 * receipt hook, expiry sweep), so a tenant without endpoints costs a lookup in an isolate-local
 * cache and nothing else; one with endpoints costs one D1 batch and one queue send per call.
 */

import { currentSendLog, placementOf } from "../db/send-log-partitions";
import type { WebhookEvent } from "../domain/vocabulary";
import { newId } from "../lib/ids";
import { TtlCache } from "../lib/ttl-cache";
import { jobPartition } from "./send-logs";
import type { WebhookJob } from "./webhook-payloads";

export interface MessageEvent {
  type: WebhookEvent;
  tenantId: string;
  messageId: string;
  /** When the message reached the status the event is about (ms). */
  occurredAt: number;
  /** The message's public view (`id`, `status`, `status_reason`, `to`, …), sent as given. */
  data: Record<string, unknown>;
}

export interface Subscription {
  id: string;
  events: ReadonlySet<string>;
}

/** Endpoint changes made in another isolate show within this time. */
const CACHE_TTL_MS = 15_000;
const MAX_CACHED_TENANTS = 10_000;
const cache = new TtlCache<string, Subscription[]>({
  ttlMs: CACHE_TTL_MS,
  maxEntries: MAX_CACHED_TENANTS,
});

/** Drops a tenant's cached endpoints (after a create, delete or rotation in this isolate). */
export function forgetTenantEndpoints(tenantId: string): void {
  cache.delete(tenantId);
}

/**
 * Enqueues events for every endpoint of the tenant subscribed to them; no I/O beyond a cached
 * endpoint lookup when the tenant has none. Emitting an event again is harmless: its id is
 * derived from the message and the type, and a delivery exists once per (event, endpoint).
 * The deliveries go to `sendLog` when given (the partition of the messages they are about), else
 * to each tenant's current send-log partition.
 */
export async function emitEvents(
  env: Env,
  events: MessageEvent[],
  now: number = Date.now(),
  sendLog?: D1Database,
): Promise<void> {
  if (events.length === 0) {
    return;
  }
  const subscriptions = await subscriptionsOf(
    env.DB,
    [...new Set(events.map((e) => e.tenantId))],
    now,
  );
  const rows: DeliveryValues[] = [];
  for (const event of events) {
    const endpoints = (subscriptions.get(event.tenantId) ?? []).filter((e) =>
      e.events.has(event.type),
    );
    if (endpoints.length === 0) {
      continue;
    }
    const { eventId, payload } = await payloadOf(event);
    for (const endpoint of endpoints) {
      rows.push([
        newId("whd", now),
        event.tenantId,
        endpoint.id,
        eventId,
        event.type,
        payload,
        now,
      ]);
    }
  }
  // Each tenant's deliveries go to its current send-log partition (db/send-log-partitions).
  const byPartition = new Map<D1Database, DeliveryValues[]>();
  for (const row of rows) {
    const db = sendLog ?? currentSendLog(env, await placementOf(env, row[1]));
    const list = byPartition.get(db);
    if (list) {
      list.push(row);
    } else {
      byPartition.set(db, [row]);
    }
  }
  for (const [db, list] of byPartition) {
    const toQueue = await insertDeliveries(db, list);
    await enqueueDeliveries(env, toQueue, db);
  }
}

async function payloadOf(event: MessageEvent): Promise<{ eventId: string; payload: string }> {
  const eventId = await eventIdOf(event.type, event.messageId);
  const payload = JSON.stringify({
    id: eventId,
    type: event.type,
    created_at: new Date(event.occurredAt).toISOString(),
    data: event.data,
  });
  return { eventId, payload };
}

/**
 * Delivers one event to one endpoint of the event's tenant, whatever events the endpoint is
 * subscribed to (a forwarding rule names it). Its id is the one `emitEvents` gives the event, so
 * an endpoint that is also subscribed gets it once. An endpoint of another tenant, or one deleted
 * since, gets nothing (the insert joins on the tenant); answers whether a delivery exists.
 */
export async function emitEventTo(
  env: Env,
  event: MessageEvent,
  endpointId: string,
  now: number = Date.now(),
): Promise<boolean> {
  const { eventId, payload } = await payloadOf(event);
  const row: DeliveryValues = [
    newId("whd", now),
    event.tenantId,
    endpointId,
    eventId,
    event.type,
    payload,
    now,
  ];
  const endpoint = await env.DB.prepare(
    "SELECT 1 FROM webhook_endpoints WHERE id = ? AND tenant_id = ?",
  )
    .bind(endpointId, event.tenantId)
    .first();
  if (endpoint === null) {
    return false;
  }
  const db = currentSendLog(env, await placementOf(env, event.tenantId));
  const toQueue = await insertDeliveries(db, [row]);
  await enqueueDeliveries(env, toQueue, db);
  if (toQueue.length > 0) {
    return true;
  }
  const existing = await db
    .prepare(
      "SELECT 1 FROM webhook_deliveries WHERE event_id = ? AND endpoint_id = ? AND tenant_id = ?",
    )
    .bind(eventId, endpointId, event.tenantId)
    .first();
  return existing !== null;
}

/**
 * Sends `{v: 1, delivery_id, series_started_at, send_log?}` jobs for deliveries on `db` (a send-log
 * partition, the main one by default), 100 to a call (sendBatch's limit).
 */
export async function enqueueDeliveries(
  env: Env,
  deliveries: { id: string; seriesStartedAt: number }[],
  db: D1Database = env.DB,
): Promise<void> {
  const partition = jobPartition(env, db);
  for (let i = 0; i < deliveries.length; i += 100) {
    await env.WEBHOOK_QUEUE.sendBatch(
      deliveries.slice(i, i + 100).map((d) => {
        const body: WebhookJob = {
          v: 1,
          delivery_id: d.id,
          series_started_at: d.seriesStartedAt,
          ...partition,
        };
        return { body, contentType: "json" as const };
      }),
    );
  }
}

/**
 * `evt_` and 26 Crockford characters of SHA-256(type:message id): the same event always gets
 * the same id, which is what makes a second emission of it a no-op.
 */
export async function eventIdOf(type: WebhookEvent, messageId: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${type}:${messageId}`)),
  );
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let out = "";
  for (const byte of digest.subarray(0, 26)) {
    out += alphabet.charAt(byte % 32);
  }
  return `evt_${out}`;
}

/** The endpoints of each tenant and the events they take, from the isolate's cache or D1. */
export async function subscriptionsOf(
  d1: D1Database,
  tenantIds: string[],
  now: number,
): Promise<Map<string, Subscription[]>> {
  const found = new Map<string, Subscription[]>();
  const missing: string[] = [];
  for (const tenantId of tenantIds) {
    const cached = cache.get(tenantId, now);
    if (cached) {
      found.set(tenantId, cached);
    } else {
      missing.push(tenantId);
    }
  }
  // D1 binds at most 100 parameters per query.
  for (let i = 0; i < missing.length; i += 90) {
    const chunk = missing.slice(i, i + 90);
    const { results } = await d1
      .prepare(
        `SELECT id, tenant_id, events FROM webhook_endpoints WHERE tenant_id IN (${chunk.map(() => "?").join(", ")})`,
      )
      .bind(...chunk)
      .all<{ id: string; tenant_id: string; events: string }>();
    const byTenant = new Map<string, Subscription[]>(chunk.map((id) => [id, []]));
    for (const row of results) {
      byTenant.get(row.tenant_id)?.push({
        id: row.id,
        events: new Set(JSON.parse(row.events) as string[]),
      });
    }
    cache.setAll([...byTenant], now);
    for (const [tenantId, endpoints] of byTenant) {
      found.set(tenantId, endpoints);
    }
  }
  return found;
}

/** id, tenant_id, endpoint_id, event_id, event_type, payload, created_at */
type DeliveryValues = [string, string, string, string, string, string, number];

const WIDTH = 7;
const PER_STATEMENT = Math.floor(100 / WIDTH);

/**
 * Inserts pending deliveries in one D1 batch and returns those to queue: the new ones, and ones
 * emitted before but never attempted (their first queue send may have been lost). `d1` is a
 * send-log partition, which holds no endpoints: an endpoint deleted since the cache saw it gets a
 * row that its consumer finds without an endpoint and ends (queues/webhooks).
 */
async function insertDeliveries(
  d1: D1Database,
  rows: DeliveryValues[],
): Promise<{ id: string; seriesStartedAt: number }[]> {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += PER_STATEMENT) {
    const chunk = rows.slice(i, i + PER_STATEMENT);
    const tuples = chunk.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ");
    statements.push(
      d1
        .prepare(
          `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload,
             status, attempt_count, attempts, next_attempt_at, created_at, updated_at)
           SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6,
             'pending', 0, '[]', v.column7, v.column7, v.column7
           FROM (VALUES ${tuples}) AS v
           WHERE true
           ON CONFLICT (event_id, endpoint_id) DO UPDATE SET updated_at = excluded.updated_at
             WHERE webhook_deliveries.status = 'pending' AND webhook_deliveries.attempt_count = 0
           RETURNING id, created_at`,
        )
        .bind(...chunk.flat()),
    );
  }
  const results = await d1.batch<{ id: string; created_at: number }>(statements);
  return results.flatMap((result) =>
    result.results.map((row) => ({ id: row.id, seriesStartedAt: row.created_at })),
  );
}
