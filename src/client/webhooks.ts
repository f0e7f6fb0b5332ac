/**
 * Verifying a webhook from Relaybox: `Relaybox-Signature: t=<unix seconds>,v1=<hex>`, the hex
 * being HMAC-SHA256 keyed by the endpoint secret's UTF-8 bytes over `<t>.<raw body>` (the scheme
 * of src/domain/webhook-signature.ts, which the tests check this against). WebCrypto only: Node 20+,
 * Workers, Deno, Bun, browsers.
 */
import type { webhooks } from "./schema.ts";

export const SIGNATURE_HEADER = "Relaybox-Signature";

/** An event as delivered: `{id, type, created_at, data}`. */
export type WebhookEvent = webhooks[keyof webhooks]["post"] extends {
  requestBody: { content: { "application/json": infer Body } };
}
  ? Body
  : never;

export class WebhookSignatureError extends Error {
  constructor(message = "The Relaybox-Signature header does not sign this body") {
    super(message);
    this.name = "WebhookSignatureError";
  }
}

const encoder = new TextEncoder();

async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The header value Relaybox sends for `body` at `timestamp` (unix seconds): for your tests. */
export async function signWebhook(secret: string, body: string, timestamp: number) {
  return `t=${timestamp},v1=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/**
 * True when `header` signs exactly `body` (the raw body, before JSON parsing) with `secret`, at a
 * time within `toleranceSeconds` of now, so a captured request cannot be replayed later.
 */
export async function verifyWebhookSignature(
  header: string | null | undefined,
  body: string,
  secret: string,
  { toleranceSeconds = 300, nowMs = Date.now() } = {},
): Promise<boolean> {
  if (!header) {
    return false;
  }
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === "t") {
      timestamp = value;
    } else if (name === "v1" && value) {
      signatures.push(value);
    }
  }
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) {
    return false;
  }
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) {
    return false;
  }
  const expected = await hmacSha256Hex(secret, `${timestamp}.${body}`);
  let matched = false;
  for (const signature of signatures) {
    let diff = signature.length ^ expected.length;
    for (let i = 0; i < expected.length; i++) {
      diff |= expected.charCodeAt(i) ^ (signature.charCodeAt(i) || 0);
    }
    matched = matched || diff === 0;
  }
  return matched;
}

/** Verifies, then parses: the event, or a `WebhookSignatureError`. */
export async function constructWebhookEvent(
  body: string,
  header: string | null | undefined,
  secret: string,
  options?: { toleranceSeconds?: number; nowMs?: number },
): Promise<WebhookEvent> {
  if (!(await verifyWebhookSignature(header, body, secret, options))) {
    throw new WebhookSignatureError();
  }
  return JSON.parse(body) as WebhookEvent;
}
