/** What crosses the TenantDispatcher's RPC boundary. */
import { z } from "zod";

export const outboxMessageSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  channel: z.literal("sms"),
  recipient: z.string(),
  sender: z.string().nullable(),
  body: z.string(),
  metadata: z.record(z.string(), z.string()).nullable(),
  mode: z.enum(["live", "test"]),
  segments: z.number().int(),
  encoding: z.enum(["GSM-7", "UCS-2"]),
  idempotencyKey: z.string().nullable(),
  createdAt: z.number().int(),
  /** When the message may be released: `createdAt` unless scheduled. */
  sendAt: z.number().int(),
});

export type OutboxMessage = z.infer<typeof outboxMessageSchema>;

/** The 202 body of `POST /v1/messages`, replayed as is for a repeated idempotency key. */
export interface AcceptedMessage {
  id: string;
  status: "queued" | "scheduled";
  to: string;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  created_at: string;
}

export function acceptedView(message: OutboxMessage): AcceptedMessage {
  return {
    id: message.id,
    status: message.sendAt > message.createdAt ? "scheduled" : "queued",
    to: message.recipient,
    segments: message.segments,
    encoding: message.encoding,
    created_at: new Date(message.createdAt).toISOString(),
  };
}

export interface AcceptRequest {
  message: OutboxMessage;
  idempotency: { key: string; requestHash: string } | null;
}

/** `replayed` carries the first request's answer; `accepted` is `acceptedView(message)`. */
export type AcceptResult =
  | { kind: "accepted" }
  | { kind: "replayed"; response: AcceptedMessage }
  | { kind: "idempotency-conflict" };

/** `sent`: waiting for its receipt now; `final`: failed or otherwise done. */
export interface SendResult {
  id: string;
  outcome: "sent" | "final";
}
