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

  it("decrypts values made outside the Worker with the same key derivation and format", async () => {
    // AES-256-GCM under HKDF-SHA256(MASTER, empty salt, "relaybox <purpose> v1"), IV 00..0b, the
    // purpose as associated data: made with Python's hmac and cryptography packages.
    expect(
      await decryptSecret(
        MASTER,
        "provider-credentials",
        "v1.AAECAwQFBgcICQoL.5CFVHBrgEsjDHgsY/k2OkuCy7HhDUqi64P2J+093DzMgOlnYrIexW6dvGGI3",
      ),
    ).toBe('{"auth_token":"fixed-vector"}');
    expect(
      await decryptSecret(
        MASTER,
        "webhook-secret",
        "v1.AAECAwQFBgcICQoL.H/kEggf5jfK5ZmSMK5igWgprLnzEHz0zQY/7jegNZFwS",
      ),
    ).toBe("whsec_fixedvector");
  });
});
