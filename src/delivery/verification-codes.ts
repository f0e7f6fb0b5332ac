/**
 * Verification codes: drawn from the CSPRNG (crypto.getRandomValues, rejection sampling so every
 * digit is equally likely), stored only as HMAC-SHA256 under a key derived from MASTER_KEY
 * ("relaybox verification codes v1"), bound to the verification's id so a hash is useless for any
 * other one, and compared in constant time.
 */
import { settingsOf } from "../config/settings";
import { deriveKey, timingSafeEqual, toHex } from "../lib/crypto";

let cachedKey: { master: string; key: Promise<CryptoKey> } | null = null;

function codeKey(env: Env): Promise<CryptoKey> {
  const master = settingsOf(env).MASTER_KEY;
  if (cachedKey?.master !== master) {
    const bytes = Uint8Array.from(atob(master), (ch) => ch.charCodeAt(0));
    cachedKey = {
      master,
      key: deriveKey(bytes, "relaybox verification codes v1").then((raw) =>
        crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
      ),
    };
  }
  return cachedKey.key;
}

/** `length` decimal digits, each uniformly random. */
export function newCode(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      // 250 is the largest multiple of 10 below 256: bytes past it would favour 0–5.
      if (byte < 250 && out.length < length) {
        out += String(byte % 10);
      }
    }
  }
  return out;
}

export async function codeHash(env: Env, verificationId: string, code: string): Promise<string> {
  const signature = await crypto.subtle.sign(
    "HMAC",
    await codeKey(env),
    new TextEncoder().encode(`${verificationId}:${code}`),
  );
  return toHex(signature);
}

export async function codeMatches(
  env: Env,
  verificationId: string,
  code: string,
  storedHash: string,
): Promise<boolean> {
  return timingSafeEqual(await codeHash(env, verificationId, code), storedHash);
}
