/**
 * The interface every SMS provider implements: the channels' outbound interface (../adapter.ts)
 * with what only carriers do: read (and, where they sign them, verify) delivery receipts and
 * inbound messages, say whether they send free text, and add the signature themselves. Adapters
 * are plain objects over an injected `fetch`, so tests assert the exact outgoing request and the
 * sandbox can call our own hooks. Each call goes through `fetchNoRedirect` (lib/outbound-fetch);
 * the carriers' sends through `callCarrier` (carrier-call.ts), which adds their time-out.
 */
import type {
  AdapterIO,
  LookupOutcome,
  OutboundAdapter,
  OutboundRequest,
  ProviderSettings,
  SendOutcome,
  UnansweredAttempt,
} from "../adapter";

// What every SMS adapter uses of the outbound interface, named from here beside the rest.
export type {
  AdapterIO,
  LookupOutcome,
  ProviderSettings,
  SendOutcome,
  UnansweredAttempt,
} from "../adapter";

/** What an SMS provider is given: the outbound request but the channel's own payload. */
export type SmsSendRequest = Omit<OutboundRequest, "tenantId" | "payload">;

/** What a receipt callback is checked against. */
export interface ReceiptContext {
  settings: ProviderSettings;
  /** The URL the carrier was told to call, as configured for this deployment (PUBLIC_BASE_URL). */
  publicUrl: string;
}

export type ReceiptStatus = "delivered" | "undelivered";

export interface Receipt {
  /** Our id, when the provider echoes it back. */
  messageId?: string;
  providerMessageId: string;
  status: ReceiptStatus;
  reason?: string;
}

/**
 * A message a carrier's subscriber sent us (a reply, or a first message to our number), as the
 * carrier's callback gives it.
 */
export interface InboundMessage {
  /** The sender's number: E.164 where the callback gives enough to make it, else as given. */
  from: string;
  /**
   * What it was sent to: our number (Twilio's `To`), or the extension code of the number the
   * subscriber replied to (Aliyun's `dest_code`, Tencent's `extend`; empty when there is none).
   */
  to: string;
  body: string;
  /** The carrier's id for the message, where it gives one (Twilio's MessageSid, Aliyun's sequence_id). */
  providerMessageId: string | null;
  /** Unix ms: when the carrier says the subscriber sent it, else when the callback came. */
  receivedAt: number;
  /** The carrier's own fields for this message, as they came. */
  raw: Readonly<Record<string, unknown>>;
}

/** What an inbound callback is read with. */
export interface InboundContext extends ReceiptContext {
  /** When the callback came: the time of a message whose carrier gives none. */
  now: number;
}

export interface SmsAdapter extends OutboundAdapter {
  /** False for providers that send only their own approved templates (Aliyun, Tencent). */
  readonly sendsFreeText: boolean;
  /** True when the provider puts the signature in itself (from `signName`). */
  readonly addsSignature: boolean;
  send(request: SmsSendRequest, settings: ProviderSettings, io: AdapterIO): Promise<SendOutcome>;
  /**
   * Reads (and, where the carrier signs them, verifies) a delivery-receipt callback. Throws
   * `ReceiptFormatError` for a body it cannot read and `ReceiptAuthError` for a bad signature.
   */
  parseReceipt(request: Request, context: ReceiptContext): Promise<Receipt[]>;
  /**
   * Reads (and, where the carrier signs them, verifies) an inbound-message callback: one or more
   * messages. Throws as `parseReceipt` does.
   */
  parseInbound(request: Request, context: InboundContext): Promise<InboundMessage[]>;
  sendMany?(
    requests: SmsSendRequest[],
    settings: ProviderSettings,
    io: AdapterIO,
  ): Promise<SendOutcome[]>;
  lookup?(
    request: SmsSendRequest,
    attempt: UnansweredAttempt,
    settings: ProviderSettings,
    io: AdapterIO,
  ): Promise<LookupOutcome>;
}

/** A callback (a receipt or an inbound message) whose body cannot be read. */
export class ReceiptFormatError extends Error {
  override name = "ReceiptFormatError";
}

/** A callback whose signature does not check out. */
export class ReceiptAuthError extends Error {
  override name = "ReceiptAuthError";
}
