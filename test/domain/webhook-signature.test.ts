import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhookSignature } from "../../src/domain/webhook-signature";

const SECRET = "whsec_0123456789abcdefghijklmnopqrstuv";
const BODY =
  '{"id":"evt_1","type":"message.delivered","created_at":"2026-11-20T08:00:00.000Z","data":{}}';
const T = 1_790_000_000;
const NOW_MS = T * 1000;

describe("webhook signatures", () => {
  it("signs HMAC-SHA256 over `<t>.<raw body>` keyed by the secret's UTF-8 bytes, in hex", async () => {
    expect(await signWebhook("key", "The quick brown fox", 1_790_000_000)).toBe(
      `t=1790000000,v1=${await independentHmac("key", "1790000000.The quick brown fox")}`,
    );
    expect(await signWebhook(SECRET, BODY, T)).toBe(
      `t=${T},v1=${await independentHmac(SECRET, `${T}.${BODY}`)}`,
    );
  });

  it("checks against an HMAC built from its definition, itself checked on published vectors", async () => {
    // RFC 4231 §4.3 (test case 2) and the common "quick brown fox" vector.
    expect(await independentHmac("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
    expect(await independentHmac("key", "The quick brown fox jumps over the lazy dog")).toBe(
      "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
    );
  });

  it("verifies its own signature within the tolerance", async () => {
    const header = await signWebhook(SECRET, BODY, T);
    expect(await verifyWebhookSignature(header, BODY, SECRET, NOW_MS)).toBe(true);
    expect(await verifyWebhookSignature(header, BODY, SECRET, NOW_MS + 300_000)).toBe(true);
    expect(await verifyWebhookSignature(header, BODY, SECRET, NOW_MS - 300_000)).toBe(true);
  });

  it("refuses a timestamp older or newer than the tolerance", async () => {
    const header = await signWebhook(SECRET, BODY, T);
    expect(await verifyWebhookSignature(header, BODY, SECRET, NOW_MS + 301_000)).toBe(false);
    expect(await verifyWebhookSignature(header, BODY, SECRET, NOW_MS - 301_000)).toBe(false);
    expect(await verifyWebhookSignature(header, BODY, SECRET, NOW_MS + 3_600_000, 3600)).toBe(true);
  });

  it("refuses another body, another secret, or a moved timestamp", async () => {
    const header = await signWebhook(SECRET, BODY, T);
    expect(await verifyWebhookSignature(header, `${BODY} `, SECRET, NOW_MS)).toBe(false);
    expect(await verifyWebhookSignature(header, BODY, `${SECRET}x`, NOW_MS)).toBe(false);
    const moved = header.replace(`t=${T}`, `t=${T + 1}`);
    expect(await verifyWebhookSignature(moved, BODY, SECRET, NOW_MS)).toBe(false);
  });

  it.each([
    null,
    "",
    "v1=abc",
    `t=${T}`,
    `t=${T},v1=`,
    `t=abc,v1=${"0".repeat(64)}`,
    `t=${T},v1=${"0".repeat(64)}`,
    `t=${T},v0=${"0".repeat(64)}`,
  ])("refuses the malformed header %j", async (header) => {
    expect(await verifyWebhookSignature(header, BODY, SECRET, NOW_MS)).toBe(false);
  });

  it("accepts a header listing several v1 signatures when one matches", async () => {
    const header = await signWebhook(SECRET, BODY, T);
    const [t, v1] = header.split(",");
    expect(
      await verifyWebhookSignature(`${t},v1=${"0".repeat(64)},${v1}`, BODY, SECRET, NOW_MS),
    ).toBe(true);
  });

  it("signs the secret's UTF-8 bytes, not its UTF-16 code units", async () => {
    const header = await signWebhook("sécret✓", "body", T);
    expect(header).toBe(`t=${T},v1=${await independentHmac("sécret✓", `${T}.body`)}`);
    expect(await verifyWebhookSignature(header, "body", "sécret✓", NOW_MS)).toBe(true);
  });
});

/** HMAC-SHA256 from its definition (RFC 2104) over SHA-256, as a check on the WebCrypto path. */
async function independentHmac(key: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  let keyBytes = encoder.encode(key);
  if (keyBytes.length > 64) {
    keyBytes = new Uint8Array(await crypto.subtle.digest("SHA-256", keyBytes));
  }
  const block = new Uint8Array(64);
  block.set(keyBytes);
  const pad = (byte: number) => block.map((b) => b ^ byte);
  const concat = (a: Uint8Array, b: Uint8Array) => {
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  const inner = new Uint8Array(
    await crypto.subtle.digest("SHA-256", concat(pad(0x36), encoder.encode(message))),
  );
  const outer = new Uint8Array(await crypto.subtle.digest("SHA-256", concat(pad(0x5c), inner)));
  return Array.from(outer, (b) => b.toString(16).padStart(2, "0")).join("");
}
