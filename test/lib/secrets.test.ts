import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret } from "../../src/lib/secrets";

const MASTER = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const OTHER = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

describe("secrets at rest", () => {
  it("round-trips a value, with a fresh IV each time", async () => {
    const a = await encryptSecret(MASTER, "provider-credentials", '{"auth_token":"t0p"}');
    const b = await encryptSecret(MASTER, "provider-credentials", '{"auth_token":"t0p"}');
    expect(a).toMatch(/^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("t0p");
    expect(await decryptSecret(MASTER, "provider-credentials", a)).toBe('{"auth_token":"t0p"}');
  });

  it("refuses another master key, another purpose, and a tampered value", async () => {
    const stored = await encryptSecret(MASTER, "webhook-secret", "whsec_abc");
    await expect(decryptSecret(OTHER, "webhook-secret", stored)).rejects.toThrow();
    await expect(decryptSecret(MASTER, "provider-credentials", stored)).rejects.toThrow();
    const [v, iv, ct = ""] = stored.split(".");
    const flipped = `${v}.${iv}.${ct.startsWith("A") ? `B${ct.slice(1)}` : `A${ct.slice(1)}`}`;
    await expect(decryptSecret(MASTER, "webhook-secret", flipped)).rejects.toThrow();
    await expect(decryptSecret(MASTER, "webhook-secret", "plain")).rejects.toThrow();
  });
});
