/**
 * The message events tenants' webhooks receive (`message.sent`, `.delivered`, `.undelivered`,
 * `.failed`, `.expired`): their `data` is the message as the API shows it, at that status.
 */
import type { MessageRow, ReceiptChange } from "../db/message-log";
import { messages } from "../db/schema";
import { fromMicros } from "../domain/pricing";
import { smsFiguresOf } from "../domain/segments";
import type { MessageStatus, WebhookEvent } from "../domain/vocabulary";
import { createLogger } from "../lib/log";
import { emitEvents, type MessageEvent } from "./webhook-events";

const EVENT_OF: Partial<Record<MessageStatus, WebhookEvent>> = {
  sent: "message.sent",
  delivered: "message.delivered",
  undelivered: "message.undelivered",
  failed: "message.failed",
  expired: "message.expired",
};

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

/** The message side of an event: what the API shows of it besides its status. */
export type EventMessage = Pick<
  MessageRow,
  | "id"
  | "tenantId"
  | "channel"
  | "recipient"
  | "segments"
  | "encoding"
  | "costMicros"
  | "batchId"
  | "templateId"
  | "metadata"
  | "createdAt"
>;

/** A message with its send's details, as a receipt's event shows them. */
export type SentMessage = EventMessage &
  Pick<MessageRow, "provider" | "providerMessageId" | "sentAt">;

/** The columns of a `SentMessage`, for a drizzle select. */
export const sentMessageColumns = {
  id: messages.id,
  tenantId: messages.tenantId,
  channel: messages.channel,
  recipient: messages.recipient,
  segments: messages.segments,
  encoding: messages.encoding,
  costMicros: messages.costMicros,
  batchId: messages.batchId,
  templateId: messages.templateId,
  metadata: messages.metadata,
  createdAt: messages.createdAt,
  provider: messages.provider,
  providerMessageId: messages.providerMessageId,
  sentAt: messages.sentAt,
};

/** The same columns in SQL, for a raw query read with `sentMessageOf`. */
export const SENT_MESSAGE_SQL = `id, tenant_id, channel, recipient, segments, encoding, cost_micros,
  batch_id, template_id, metadata, created_at, provider, provider_message_id, sent_at`;

/** A row of SENT_MESSAGE_SQL, as D1 returns it. */
export type SentMessageRow = Pick<
  ReceiptChange,
  | "id"
  | "tenant_id"
  | "channel"
  | "recipient"
  | "segments"
  | "encoding"
  | "cost_micros"
  | "batch_id"
  | "template_id"
  | "metadata"
  | "created_at"
  | "provider"
  | "provider_message_id"
  | "sent_at"
>;

export function sentMessageOf(row: SentMessageRow): SentMessage {
  return {
    ...changeEventInput(row),
    provider: row.provider,
    providerMessageId: row.provider_message_id,
    sentAt: row.sent_at,
  };
}

/** What an event says of the change: the status reached, why, through whom, and when. */
export interface EventChange {
  status: MessageStatus;
  reason: string | null;
  provider: string | null;
  providerMessageId: string | null;
  at: number;
  sentAt?: number | null;
}

/** The event type of reaching `status`, or undefined for a status without one. */
export function eventTypeOf(status: MessageStatus): WebhookEvent | undefined {
  return EVENT_OF[status];
}

/** The event for a message that reached `status`, or null for a status without one. */
export function messageEvent(message: EventMessage, change: EventChange): MessageEvent | null {
  const type = EVENT_OF[change.status];
  if (!type) {
    return null;
  }
  return {
    type,
    tenantId: message.tenantId,
    messageId: message.id,
    occurredAt: change.at,
    data: {
      id: message.id,
      channel: message.channel,
      status: change.status,
      status_reason: change.reason,
      to: message.recipient,
      provider: change.provider,
      provider_message_id: change.providerMessageId,
      ...smsFiguresOf(message),
      cost: fromMicros(message.costMicros),
      batch_id: message.batchId,
      template_id: message.templateId,
      metadata: message.metadata,
      created_at: iso(message.createdAt),
      sent_at: iso(change.sentAt),
      completed_at: change.status === "sent" ? null : iso(change.at),
    },
  };
}

/** Tries after the first, with these waits: a brief D1 or queue hiccup must not cost an event. */
const EMIT_RETRY_WAITS_MS = [100, 400];

/**
 * Emits the events, trying again on a failure; one that still fails is logged, not thrown: the
 * status changes are recorded already, and the caller must not redo them for the sake of a
 * notification. (Emitting twice is harmless: an event's id is fixed by its message and type, and
 * a delivery not yet attempted is only queued again. A delivery written whose job was lost is
 * queued again by housekeeping.)
 */
export async function emitMessageEvents(
  env: Env,
  events: (MessageEvent | null)[],
  sendLog?: D1Database,
): Promise<void> {
  const real = events.filter((event): event is MessageEvent => event !== null);
  for (let attempt = 0; ; attempt++) {
    try {
      await emitEvents(env, real, Date.now(), sendLog);
      return;
    } catch (error) {
      const wait = EMIT_RETRY_WAITS_MS[attempt];
      if (wait === undefined) {
        createLogger(env.LOG_LEVEL).error("webhook events not emitted", {
          count: real.length,
          events: real.map((event) => ({
            tenant_id: event.tenantId,
            message_id: event.messageId,
            type: event.type,
          })),
          error,
        });
        return;
      }
      await scheduler.wait(wait);
    }
  }
}

/** The message side of an event, from a row D1 returned (snake_case) after a receipt or expiry. */
export function changeEventInput(row: SentMessageRow): EventMessage {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    channel: row.channel,
    recipient: row.recipient,
    segments: row.segments,
    encoding: row.encoding,
    costMicros: row.cost_micros,
    batchId: row.batch_id,
    templateId: row.template_id,
    metadata: row.metadata ? (JSON.parse(row.metadata) as Record<string, string>) : null,
    createdAt: row.created_at,
  };
}

/** The change side of an event, from the same row. */
export function eventChange(row: ReceiptChange, at: number) {
  return {
    status: row.status,
    reason: row.status_reason,
    provider: row.provider,
    providerMessageId: row.provider_message_id,
    at,
    sentAt: row.sent_at,
  };
}
