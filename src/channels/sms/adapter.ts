/**
 * The one interface every SMS provider implements. Adapters are plain objects over an injected
 * `fetch`, so tests assert the exact outgoing request and the sandbox can call our own hooks.
 * Each call goes through `fetchNoRedirect` (lib/outbound-fetch).
 */
import type { RedirectRefusedError } from "../../lib/outbound-fetch";

export interface SmsSendRequest {
  /** Our message id: the client reference a provider echoes back where it can. */
  messageId: string;
  /** E.164. */
  to: string;
  from: string | null;
  /** The whole text, signature included (what a free-text provider sends). */
  body: string;
  /** 1 for the first provider call of this message, 2 for the next, ... */
  attempt: number;
  /** Where the provider should post delivery receipts (our hook URL, with its token). */
  statusCallbackUrl: string;
  /**
   * The provider's own approved template and its parameters, for providers that send only those
   * (Aliyun, Tencent); null for a free text. `params` are in the template's declared order.
   */
  template: { code: string; params: { name: string; value: string }[] } | null;
  /** The signature name without brackets (`Relaybox`), for providers that add it themselves. */
  signName: string | null;
}

/** A tenant's settings for one provider, credentials decrypted. */
export interface ProviderSettings {
  /** Non-secret: `base_url`, `timeout_ms`, sender ids, app ids, region… (snake_case keys). */
  config: Readonly<Record<string, string | number | boolean>>;
  /** Credentials (`auth_token`, `access_key_secret`, `secret_key`…); never logged or returned. */
  secrets: Readonly<Record<string, string>>;
}

/** What a receipt callback is checked against. */
export interface ReceiptContext {
  settings: ProviderSettings;
  /** The URL the carrier was told to call, as configured for this deployment (PUBLIC_BASE_URL). */
  publicUrl: string;
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
   * Optional: several messages with one template in one call (Aliyun's SendBatchSms), at most
   * `maxPerCall`; the outcomes in the requests' order. The consumer gathers such messages.
   */
  sendMany?(
    requests: SmsSendRequest[],
    settings: ProviderSettings,
    io: AdapterIO,
  ): Promise<SendOutcome[]>;
  readonly maxPerCall?: number;
}

export class ReceiptFormatError extends Error {
  override name = "ReceiptFormatError";
}

export class ReceiptAuthError extends Error {
  override name = "ReceiptAuthError";
}

/** The adapters' request time-out unless a provider's settings say otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A provider that answers a send with a redirect (lib/outbound-fetch) is misconfigured or not the
 * provider at all: trying it again, or blindly another one, would not make it right.
 */
export function redirectRefused(
  provider: string,
  error: RedirectRefusedError,
): Extract<SendOutcome, { kind: "failed" }> {
  return {
    kind: "failed",
    retryable: false,
    code: "redirected",
    reason: `${provider} ${error.message}`,
  };
}
