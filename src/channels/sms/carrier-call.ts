/**
 * One call to a carrier's API (Twilio, Aliyun, Tencent) under the provider's time-out, and what
 * no answer means for the message. The time-out covers the whole exchange, body included: a
 * carrier that sends its headers and then stalls holds the consumer as long as one that sends
 * nothing. fetch cannot tell whether a request that failed or timed out had reached the carrier,
 * so both are "unknown" (the message may exist there: retried on the same provider, never handed
 * blindly to another). A redirect is a permanent failure (lib/outbound-fetch says why).
 */
import { fetchNoRedirect, RedirectRefusedError } from "../../lib/outbound-fetch";
import type { AdapterIO, LookupOutcome, ProviderSettings, SendOutcome } from "./adapter";

/** The adapters' request time-out unless a provider's settings say otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The carrier answered in time: its response (status, headers) and its whole body. */
export interface CarrierAnswer {
  kind: "answer";
  response: Response;
  text: string;
}

/** An answer to read, or the outcome of having none (unknown, or refused for a redirect). */
export type CarrierCall = CarrierAnswer | Extract<SendOutcome, { kind: "unknown" | "failed" }>;

/**
 * POSTs (or whatever `init` says) to `url` through `io.fetch`, never following a redirect, and
 * waits at most `timeoutMs` for the answer and its body; then aborts the request and resolves
 * without waiting for it to settle (a fake or stuck fetch may ignore the abort). `carrier` names
 * the provider in reasons ("no answer from Twilio within 10000 ms").
 */
export async function callCarrier(
  carrier: string,
  io: Pick<AdapterIO, "fetch">,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<CarrierCall> {
  const controller = new AbortController();
  const request = new Request(url, { ...init, signal: controller.signal });
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timedOut = new Promise<CarrierCall>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ kind: "unknown", reason: `no answer from ${carrier} within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([exchange(carrier, io, request), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** The answer with its body, or the outcome of a failure; never rejects. */
async function exchange(
  carrier: string,
  io: Pick<AdapterIO, "fetch">,
  request: Request,
): Promise<CarrierCall> {
  try {
    const response = await fetchNoRedirect(io.fetch, request);
    return { kind: "answer", response, text: await response.text() };
  } catch (error) {
    if (error instanceof RedirectRefusedError) {
      return redirectRefused(carrier, error);
    }
    // Also when the connection broke after the request left (or while the body came back).
    return { kind: "unknown", reason: `the request to ${carrier} failed: ${String(error)}` };
  }
}

/**
 * The provider's `timeout_ms` (domain/providers keeps it a whole number of ms from 100 to 30,000
 * when saved; a numeric string is read as its number), else DEFAULT_TIMEOUT_MS.
 */
export function carrierTimeout(settings: ProviderSettings): number {
  const setting = settings.config.timeout_ms;
  const value = typeof setting === "number" || typeof setting === "string" ? Number(setting) : NaN;
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_TIMEOUT_MS;
}

/**
 * A provider that answers a send with a redirect (lib/outbound-fetch) is misconfigured or not the
 * provider at all: trying it again, or blindly another one, would not make it right.
 */
function redirectRefused(
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

/**
 * A lookup's call (`lookup` of the adapters), under the provider's time-out like a send: the
 * answer, or why there is none. With no answer, or a redirect, the provider's records cannot say.
 */
export async function lookupCall(
  carrier: string,
  io: Pick<AdapterIO, "fetch">,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<CarrierAnswer | Extract<LookupOutcome, { kind: "cannot_tell" }>> {
  const answer = await callCarrier(carrier, io, url, init, timeoutMs);
  return answer.kind === "answer" ? answer : { kind: "cannot_tell", reason: answer.reason };
}
