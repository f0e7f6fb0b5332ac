/**
 * Webhook signatures (DESIGN.md, Contracts): `Relaybox-Signature: t=<unix seconds>,v1=<hex>`,
 * where the hex is HMAC-SHA256 keyed by the endpoint secret's UTF-8 bytes over `<t>.<raw body>`.
 *
 * `verifyWebhookSignature` uses nothing but WebCrypto, so a tenant can copy it as is (Workers,
 * Node 20+, Deno, Bun, browsers); the tests use it as "the tenant's own code".
 */

export const SIGNATURE_HEADER = "Relaybox-Signature";

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

/** The `Relaybox-Signature` value for `body` sent at `timestamp` (unix seconds). */
export async function signWebhook(
  secret: string,
  body: string,
  timestamp: number,
): Promise<string> {
  return `t=${timestamp},v1=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/**
 * True when `header` signs exactly `body` (the raw request body, before any JSON parsing) with
 * `secret`, at a time within `toleranceSeconds` of `nowMs`. A stale or future timestamp is
 * refused, so a captured request cannot be replayed later.
 */
export async function verifyWebhookSignature(
  header: string | null,
  body: string,
  secret: string,
  nowMs: number = Date.now(),
  toleranceSeconds = 300,
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
    // Compare every byte, whatever the first difference, so timing tells nothing.
    let diff = signature.length ^ expected.length;
    for (let i = 0; i < expected.length; i++) {
      diff |= expected.charCodeAt(i) ^ (signature.charCodeAt(i) || 0);
    }
    matched = matched || diff === 0;
  }
  return matched;
}
