import { describe, expect, it } from "vitest";
import { deriveKey, toHex } from "../../src/lib/crypto";

describe("deriveKey", () => {
  it("gives RFC 5869's output for its test case 3 (SHA-256, empty salt and info)", async () => {
    const okm = await deriveKey(new Uint8Array(22).fill(0x0b), "", 42);
    expect(toHex(okm)).toBe(
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    );
  });

  it("gives another key for another purpose, 32 bytes unless asked", async () => {
    const secret = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
    const oauth = await deriveKey(secret, "relaybox wechat oauth v1");
    expect(toHex(oauth)).toBe("ec0a235d979517a5b19ccb9866394f27b6b78c6e81b11d5a2d0fe07c2d7b18d0");
    expect(toHex(await deriveKey(secret, "relaybox webhook-secret v1"))).toBe(
      "eb198bf74a4da7da009575bb6314260da83a75f3cb31723c72ec10ea98573ae1",
    );
  });
});
