/**
 * The one interface every SMS provider implements. Adapters are plain objects over an injected
 * `fetch`, so tests assert the exact outgoing request and the sandbox can call our own hooks.
 */

export interface SmsSendRequest {
  /** Our message id: the client reference a provider echoes back where it can. */
  messageId: string;
  /** E.164. */
  to: string;
  from: string | null;
  body: string;
  /** 1 for the first provider call of this message, 2 for the next, ... */
  attempt: number;
  /** Where the provider should post delivery receipts (our hook URL, with its token). */
  statusCallbackUrl: string;
}

export type SendOutcome =
  | { kind: "sent"; providerMessageId: string }
  | { kind: "failed"; retryable: boolean; code: string; reason: string }
  /** The request left and no answer came back: it may or may not have been sent. */
  | { kind: "unknown"; reason: string };

export type ReceiptStatus = "delivered" | "undelivered";

export interface Receipt {
  /** Our id, when the provider echoes it back. */
  messageId?: string;
  providerMessageId: string;
  status: ReceiptStatus;
  reason?: string;
}

export interface AdapterIO {
  fetch: (request: Request) => Promise<Response>;
  now: () => number;
  /** Keeps work going after the caller returns (`ExecutionContext.waitUntil`). */
  waitUntil: (work: Promise<unknown>) => void;
}

export interface SmsAdapter {
  send(request: SmsSendRequest, io: AdapterIO): Promise<SendOutcome>;
  /** Reads a delivery-receipt callback; throws `ReceiptFormatError` for a body it cannot read. */
  parseReceipt(request: Request): Promise<Receipt[]>;
}

export class ReceiptFormatError extends Error {
  override name = "ReceiptFormatError";
}
