/**
 * Verification codes: drawn from the CSPRNG (crypto.getRandomValues, rejection sampling so every
 * digit is equally likely), stored only as HMAC-SHA256 under a key derived from MASTER_KEY
 * ("relaybox verification codes v1"), bound to the verification's id so a hash is useless for any
 * other one, and compared in constant time.
 */
import { masterKeysOf } from "../config/settings";
import { deriveKey, timingSafeEqual, toHex } from "../lib/crypto";

const codeKeys = new Map<string, Promise<CryptoKey>>();

function codeKey(masterKey: string): Promise<CryptoKey> {
  let key = codeKeys.get(masterKey);
  if (!key) {
    const bytes = Uint8Array.from(atob(masterKey), (ch) => ch.charCodeAt(0));
    key = deriveKey(bytes, "relaybox verification codes v1").then((raw) =>
      crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
    );
    codeKeys.set(masterKey, key);
  }
  return key;
}

async function hashUnder(masterKey: string, verificationId: string, code: string) {
  const signature = await crypto.subtle.sign(
    "HMAC",
    await codeKey(masterKey),
    new TextEncoder().encode(`${verificationId}:${code}`),
  );
  return toHex(signature);
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

/** The hash stored for a new code: under the current MASTER_KEY. */
export async function codeHash(env: Env, verificationId: string, code: string): Promise<string> {
  const [current] = masterKeysOf(env);
  if (current === undefined) {
    throw new Error("no master key");
  }
  return hashUnder(current, verificationId, code);
}

/**
 * Whether `code` is the one hashed in `storedHash`, under the current key or, during a rotation,
 * the previous one: a code sent just before MASTER_KEY changed still checks.
 */
export async function codeMatches(
  env: Env,
  verificationId: string,
  code: string,
  storedHash: string,
): Promise<boolean> {
  let matches = false;
  for (const masterKey of masterKeysOf(env)) {
    // Every key is tried, so the time taken does not say which one matched.
    if (timingSafeEqual(await hashUnder(masterKey, verificationId, code), storedHash)) {
      matches = true;
    }
  }
  return matches;
}
