/**
 * The webhook events of status changes as rows of the change's own D1 batch (for the status
 * writer, delivery/status-writer.ts). An event is planned before the batch, from the message as
 * the writer knows it, and becomes a `webhook_deliveries` row per subscribed endpoint; the row is
 * inserted by a statement after the batch's writes, only where they left the message as the event
 * says. A change the guard refused announces nothing, and the event is never lost to a failure
 * between the change and its announcement: D1 runs a batch as one transaction.
 */
import type { MessageStatus, WebhookEvent } from "../../domain/vocabulary";
import { newId } from "../../lib/ids";
import { createLogger } from "../../lib/log";
import { type EventChange, type EventMessage, eventTypeOf, messageEvent } from "../message-events";
import {
  enqueueDeliveries,
  eventIdOf,
  type Subscription,
  subscriptionsOf,
} from "../webhook-events";

/** What the message's row says once the batch's writes made the change an event announces. */
export type EventCondition =
  /** It is at `status`, written at `at` (the change's `updated_at`). */
  | { status: MessageStatus; at: number }
  /** Its send is recorded: under this carrier id, sent at `at`. */
  | { providerMessageId: string; sentAt: number };

/**
 * Stands for a `status_reason` that only the batch decides (a held receipt's): the insert puts the
 * row's own reason in its place. The first occurrence in the payload is the one: nothing a tenant
 * or a carrier wrote comes before `status_reason` in an event (its id, type, time, the message's
 * id, channel and status).
 */
export const REASON_FROM_ROW = "\u0000status_reason\u0000";
const REASON_TOKEN = JSON.stringify(REASON_FROM_ROW);

/** Characters of JSON per statement: well under D1's 2 MB per value. */
const JSON_PER_STATEMENT = 512 * 1024;

/**
 * The columns, in each row's array: delivery id, tenant, endpoint, event id, event type, payload,
 * message id, then the condition (status or null, time, carrier id or null) and whether the
 * payload takes the row's reason (1) or not (0).
 */
const INSERT_DELIVERIES = `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id,
    event_type, payload, status, attempt_count, attempts, next_attempt_at, created_at, updated_at)
  SELECT v.value ->> 0, v.value ->> 1, v.value ->> 2, v.value ->> 3, v.value ->> 4,
    CASE WHEN v.value ->> 10 = 1
      THEN substr(v.value ->> 5, 1, instr(v.value ->> 5, ?2) - 1) || json_quote(m.status_reason)
        || substr(v.value ->> 5, instr(v.value ->> 5, ?2) + length(?2))
      ELSE v.value ->> 5 END,
    'pending', 0, '[]', ?3, ?3, ?3
  FROM json_each(?1) AS v
  JOIN messages AS m ON m.id = v.value ->> 6 AND m.tenant_id = v.value ->> 1
  WHERE CASE WHEN v.value ->> 7 IS NOT NULL
    THEN m.status = v.value ->> 7 AND m.updated_at = v.value ->> 8
    ELSE m.provider_message_id = v.value ->> 9 AND m.sent_at = v.value ->> 8 END
  ON CONFLICT (event_id, endpoint_id) DO UPDATE SET updated_at = excluded.updated_at
    WHERE webhook_deliveries.status = 'pending' AND webhook_deliveries.attempt_count = 0
  RETURNING id, created_at`;

/**
 * The events planned for one batch. Costs nothing beyond a cached endpoint look-up for a tenant
 * with no endpoint subscribed to an event: no id is derived, no payload written, no statement.
 */
export class EventRows {
  private readonly rows: string[] = [];

  private constructor(
    private readonly subscriptions: Map<string, Subscription[]>,
    private readonly now: number,
  ) {}

  /** The endpoints of these tenants (from the isolate's cache, else D1); `now` dates the rows. */
  static async load(d1: D1Database, tenantIds: Iterable<string>, now: number): Promise<EventRows> {
    return new EventRows(await subscriptionsOf(d1, [...new Set(tenantIds)], now), now);
  }

  /** Whether an endpoint of the tenant takes events of `type`. */
  wants(tenantId: string, type: WebhookEvent): boolean {
    return (this.subscriptions.get(tenantId) ?? []).some((e) => e.events.has(type));
  }

  /**
   * Plans the event of `message` reaching `change.status`, for the tenant's endpoints that take
   * it (nothing is built when none does), to be written where `when` holds after the batch's
   * writes. `reasonFromRow`: the change's reason is REASON_FROM_ROW, to be the row's.
   */
  async announce(
    message: EventMessage,
    change: EventChange,
    when: EventCondition,
    reasonFromRow = false,
  ): Promise<void> {
    const type = eventTypeOf(change.status);
    if (!type || !this.wants(message.tenantId, type)) {
      return;
    }
    const event = messageEvent(message, change);
    if (!event) {
      return;
    }
    const endpoints = (this.subscriptions.get(event.tenantId) ?? []).filter((e) =>
      e.events.has(event.type),
    );
    if (endpoints.length === 0) {
      return;
    }
    const eventId = await eventIdOf(event.type, event.messageId);
    const payload = JSON.stringify({
      id: eventId,
      type: event.type,
      created_at: new Date(event.occurredAt).toISOString(),
      data: event.data,
    });
    const condition =
      "status" in when ? [when.status, when.at, null] : [null, when.sentAt, when.providerMessageId];
    for (const endpoint of endpoints) {
      this.rows.push(
        JSON.stringify([
          newId("whd", this.now),
          event.tenantId,
          endpoint.id,
          eventId,
          event.type,
          payload,
          event.messageId,
          ...condition,
          reasonFromRow ? 1 : 0,
        ]),
      );
    }
  }

  /** The inserts, to go after the batch's writes; none when no event was planned. */
  statements(d1: D1Database): D1PreparedStatement[] {
    const statements: D1PreparedStatement[] = [];
    let chunk: string[] = [];
    let size = 0;
    const flush = () => {
      if (chunk.length > 0) {
        statements.push(
          d1.prepare(INSERT_DELIVERIES).bind(`[${chunk.join(",")}]`, REASON_TOKEN, this.now),
        );
        chunk = [];
        size = 0;
      }
    };
    for (const row of this.rows) {
      if (size + row.length > JSON_PER_STATEMENT) {
        flush();
      }
      chunk.push(row);
      size += row.length + 1;
    }
    flush();
    return statements;
  }
}

/** Tries after the first, with these waits: a brief queue hiccup must not strand a delivery. */
const ENQUEUE_RETRY_WAITS_MS = [100, 400];

/**
 * Queues the deliveries the batch's event inserts returned (`results`: theirs only). Never throws:
 * the change and its deliveries are written already, and a delivery whose job is lost here is
 * queued again by housekeeping (services/messaging/housekeeping.ts).
 */
export async function queueNewDeliveries(
  env: Env,
  results: readonly D1Result<unknown>[],
  d1: D1Database,
): Promise<void> {
  const deliveries = results.flatMap((result) =>
    (result.results as { id: string; created_at: number }[]).map((row) => ({
      id: row.id,
      seriesStartedAt: row.created_at,
    })),
  );
  if (deliveries.length === 0) {
    return;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await enqueueDeliveries(env, deliveries, d1);
      return;
    } catch (error) {
      const wait = ENQUEUE_RETRY_WAITS_MS[attempt];
      if (wait === undefined) {
        createLogger(env.LOG_LEVEL).error("webhook deliveries written, not queued", {
          count: deliveries.length,
          delivery_ids: deliveries.map((delivery) => delivery.id),
          error,
        });
        return;
      }
      await scheduler.wait(wait);
    }
  }
}
