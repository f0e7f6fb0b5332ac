/** What crosses the TenantDispatcher's RPC boundary. */
import { z } from "zod";
import type { MessageRow } from "../db/message-log";
import type { BudgetPolicy, BudgetRefusal } from "../domain/budget";
import { fromMicros } from "../domain/pricing";
import { type Encoding, smsFiguresOf } from "../domain/segments";
import { SEND_CHANNELS, TEMPLATE_KINDS } from "../domain/vocabulary";
import type { SmsFallback } from "../domain/wechat-payload";

export const LANES = ["transactional", "bulk"] as const;
export type Lane = (typeof LANES)[number];

export const outboxMessageSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  channel: z.enum(SEND_CHANNELS),
  recipient: z.string(),
  /**
   * The ISO country of an SMS recipient's number: marketing to it waits out the tenant's quiet
   * hours there, and routing rules may name it. When absent (WeChat, or a message accepted before
   * it was carried) the dispatcher and the consumer read it from the number.
   */
  country: z.string().optional(),
  sender: z.string().nullable(),
  body: z.string(),
  /**
   * The name of the signature the text starts with, for providers that add it themselves; null
   * when none. When absent (accepted before it was carried) the consumer reads it from the text.
   */
  signName: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable(),
  mode: z.enum(["live", "test"]),
  segments: z.number().int(),
  encoding: z.enum(["GSM-7", "UCS-2"]),
  idempotencyKey: z.string().nullable(),
  createdAt: z.number().int(),
  /** When the message may be released: `createdAt` unless scheduled. */
  sendAt: z.number().int(),
  batchId: z.string().nullable(),
  templateId: z.string().nullable(),
  templateVersion: z.number().int().nullable(),
  /** The variables in declared order, for providers that render their own template. */
  templateParams: z
    .array(z.object({ name: z.string(), value: z.string() }))
    .nullable()
    .default(null),
  /**
   * For WeChat: what goes to WeChat's API, as JSON text (the app is `sender`, the openid
   * `recipient`).
   */
  payload: z.string().nullable().default(null),
  kind: z.enum(TEMPLATE_KINDS),
  /** Millionths of `currency`. */
  costMicros: z.number().int(),
  /** The tenant's currency when it was priced; absent if accepted before it was carried. */
  currency: z.string().optional(),
  /** Bulk (batches, marketing) is released only with what the transactional lane leaves. */
  lane: z.enum(LANES),
});

export type OutboxMessage = z.infer<typeof outboxMessageSchema>;

/** The 202 body of `POST /v1/messages`, replayed as is for a repeated idempotency key. */
export interface AcceptedMessage {
  id: string;
  status: "queued" | "scheduled";
  to: string;
  /** Null for a message that does not go by SMS. */
  segments: number | null;
  encoding: Encoding | null;
  cost: number;
  currency: string;
  send_at: string;
  created_at: string;
}

export function acceptedView(message: OutboxMessage, currency: string): AcceptedMessage {
  return {
    id: message.id,
    status: initialStatus(message),
    to: message.recipient,
    ...smsFiguresOf(message),
    cost: fromMicros(message.costMicros),
    currency,
    send_at: new Date(message.sendAt).toISOString(),
    created_at: new Date(message.createdAt).toISOString(),
  };
}

/** `scheduled` while it waits for its own `send_at`. */
export function initialStatus(message: OutboxMessage): "queued" | "scheduled" {
  return message.sendAt > message.createdAt ? "scheduled" : "queued";
}

/** Why a message held for the tenant's quiet hours waits, as the API shows it. */
export const QUIET_HOURS_REASON = "quiet_hours";

/** The 202 body of a message the dispatcher holds for quiet hours until `heldUntil`. */
export function heldView(response: AcceptedMessage, heldUntil: number): AcceptedMessage {
  return { ...response, status: "scheduled", send_at: new Date(heldUntil).toISOString() };
}

export interface AcceptRequest {
  message: OutboxMessage;
  idempotency: { key: string; requestHash: string } | null;
  /** The tenant's currency, for the 202 body (`acceptedView`) the dispatcher answers with. */
  currency: string;
  /** The tenant's `settings_version` the message was composed under. */
  settingsVersion: number;
  /**
   * Sent even to a number that opted out: a verification code when the tenant exempts them, the
   * confirmation of an opt-out itself. Only SMS is checked (opt-outs are phone numbers).
   */
  optOutExempt?: boolean;
  /**
   * The tenant's budget and zone under `settingsVersion` (so never outdated when accepted).
   * Absent: no monthly budget, months in UTC; a prepaid balance applies all the same.
   */
  budget?: BudgetPolicy;
  /** The dispatcher shard it is for (domain/dispatch-shards); absent: shard 0. */
  shard?: number;
}

/**
 * `replayed` carries the first request's answer, `accepted` this one's. `stale-settings`: the
 * tenant's settings changed after the message was composed; nothing was stored.
 */
export type AcceptResult =
  | { kind: "accepted"; response: AcceptedMessage }
  | { kind: "replayed"; response: AcceptedMessage }
  | { kind: "idempotency-conflict" }
  | { kind: "stale-settings" }
  /** The recipient opted out of the tenant's messages; nothing was stored. */
  | { kind: "opted-out" }
  /** Its cost would pass the month's budget or the prepaid balance; nothing was stored. */
  | { kind: "over-budget"; refusal: BudgetRefusal };

/**
 * `incomplete`: the staged rows are not all there (the upload outlived STAGED_TTL_MS);
 * `stale-settings`: the tenant's settings changed after the batch was composed, and its staged
 * rows are dropped. Either way nothing is sent.
 */
export type CommitResult =
  | "committed"
  | "incomplete"
  | "stale-settings"
  /** The batch's cost would pass the budget or the balance; its staged rows are dropped. */
  | { kind: "over-budget"; refusal: BudgetRefusal }
  /**
   * Asked for `partial`: the messages that fit were committed (`record.accepted` less the
   * refused), the `refused` ones (their ids) were dropped.
   */
  | { kind: "partial"; refused: string[]; refusal: BudgetRefusal };

/** How a batch's commit treats the budget: refused whole unless `partial`. */
export interface BatchBudget {
  policy: BudgetPolicy;
  partial: boolean;
}

/**
 * A consumer's result for a released message. `sent`: waiting for its receipt now; `final`:
 * failed or otherwise done; `sms-fallback`: WeChat gave up on it, the send log holds it as its SMS
 * (delivery/status-writer `switchToSms`), and the dispatcher takes it back as `message`, to
 * release it like any other.
 */
export type SendResult =
  | { id: string; outcome: "sent" | "final" }
  | { id: string; outcome: "sms-fallback"; message: OutboxMessage };

/** A message of the D1 send log as the outbox holds it, due at `sendAt`. */
export function outboxMessageOfLogged(row: MessageRow, sendAt: number): OutboxMessage {
  return {
    id: row.id,
    tenantId: row.tenantId,
    channel: row.channel,
    recipient: row.recipient,
    sender: row.sender,
    body: row.body,
    metadata: row.metadata,
    mode: row.mode,
    segments: row.segments,
    encoding: row.encoding,
    idempotencyKey: row.idempotencyKey,
    createdAt: row.createdAt,
    sendAt,
    batchId: row.batchId,
    templateId: row.templateId,
    templateVersion: row.templateVersion,
    templateParams: row.templateParams,
    payload: row.payload ? JSON.stringify(row.payload) : null,
    kind: row.kind,
    costMicros: row.costMicros,
    // Only a WeChat message is taken back (for its SMS), and WeChat goes in the transactional lane.
    lane: "transactional",
  };
}

/** A committed batch, as the dispatcher writes it to the D1 `batches` table. */
export const batchRecordSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  templateId: z.string().nullable(),
  templateVersion: z.number().int().nullable(),
  kind: z.enum(TEMPLATE_KINDS),
  /** The mode of its messages. A record stored before batches had one reads as live (D1's default). */
  mode: z.enum(["live", "test"]).default("live"),
  accepted: z.number().int(),
  rejected: z.number().int(),
  sendAt: z.number().int(),
  createdAt: z.number().int(),
  canceledAt: z.number().int().nullable(),
});

export type BatchRecord = z.infer<typeof batchRecordSchema>;

/** A message read back from the outbox before it reaches the D1 send log. */
export interface PendingMessage {
  message: OutboxMessage;
  canceled: boolean;
  /** Until when it is held for the tenant's quiet hours, or null when it is not. */
  heldUntil: number | null;
}

/** A template message WeChat reported undelivered (`reason`: its status), to go as its SMS. */
export interface FallbackRequest {
  id: string;
  tenantId: string;
  fallback: SmsFallback;
  reason: string;
}

export type CancelOutcome =
  | { kind: "canceled" }
  | { kind: "not-found" }
  /** Already released to a provider (or done): it can no longer be stopped. */
  | { kind: "too-late" };
