/**
 * One attempt at a webhook delivery: sign the stored body, POST it without following redirects,
 * time it out, and say what happened; and the SQL that records attempts.
 */
import type { webhookDeliveries } from "../db/schema";
import { SIGNATURE_HEADER, signWebhook } from "../domain/webhook-signature";

export type DeliveryAttempt = (typeof webhookDeliveries.$inferSelect)["attempts"][number];

export const USER_AGENT = "Relaybox-Webhooks/1";
export const ATTEMPT_TIMEOUT_MS = 10_000;

export interface DeliveryIO {
  fetch: (request: Request) => Promise<Response>;
  now: () => number;
  timeoutMs: number;
}

/** POSTs `payload` to `url`, signed with `secret`; delivered only on a 2xx. */
export async function attemptDelivery(
  target: { url: string; secret: string; eventId: string; payload: string },
  io: DeliveryIO,
): Promise<{ delivered: boolean; attempt: DeliveryAttempt }> {
  const startedAt = io.now();
  const signature = await signWebhook(target.secret, target.payload, Math.floor(startedAt / 1000));
  const attempt = (statusCode: number | null, error: string | null): DeliveryAttempt => ({
    at: startedAt,
    statusCode,
    error,
    latencyMs: Math.max(0, io.now() - startedAt),
  });
  const request = new Request(target.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      [SIGNATURE_HEADER]: signature,
      "Relaybox-Event-Id": target.eventId,
    },
    body: target.payload,
    // A redirect could point anywhere, including where the URL rules forbid: never followed.
    redirect: "manual",
    signal: AbortSignal.timeout(io.timeoutMs),
  });
  let response: Response;
  try {
    response = await io.fetch(request);
  } catch (error) {
    return { delivered: false, attempt: attempt(null, failureOf(error, io.timeoutMs)) };
  }
  // The body is not read; cancelling it frees the connection.
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) {
    return { delivered: true, attempt: attempt(response.status, null) };
  }
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get("location");
    const to = location ? ` (to ${location.slice(0, 200)})` : "";
    return {
      delivered: false,
      attempt: attempt(response.status, `redirects are not followed${to}`),
    };
  }
  return { delivered: false, attempt: attempt(response.status, null) };
}

/** What a fetch that threw tells: a time-out, or the network error (DOMExceptions included). */
function failureOf(error: unknown, timeoutMs: number): string {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  if (name === "TimeoutError") {
    return `no response within ${timeoutMs / 1000} s`;
  }
  return `request failed: ${typeof message === "string" ? message : String(error)}`.slice(0, 500);
}

export type DeliveryOutcome =
  | { status: "delivered" | "failed"; nextAttemptAt: null }
  | { status: "pending"; nextAttemptAt: number };

/**
 * Appends an attempt and applies its outcome, unless the delivery is no longer pending. One
 * statement, so concurrent consumers can't lose each other's attempts.
 */
export function recordAttemptStatement(
  d1: D1Database,
  deliveryId: string,
  attempt: DeliveryAttempt,
  outcome: DeliveryOutcome,
  now: number,
): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE webhook_deliveries SET attempts = json_insert(attempts, '$[#]', json(?)),
         attempt_count = attempt_count + 1, status = ?, next_attempt_at = ?, updated_at = ?
       WHERE id = ? AND status = 'pending'`,
    )
    .bind(JSON.stringify(attempt), outcome.status, outcome.nextAttemptAt, now, deliveryId);
}
