/** Small WebCrypto helpers: hashing, key derivation, random tokens, constant-time comparison. */

const encoder = new TextEncoder();

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const byte of view) {
    out += byte.toString(16).padStart(2, "0");
  }
  return out;
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * HKDF-SHA256 (RFC 5869) with an empty salt: `length` bytes of key for the purpose `info` names,
 * from a secret such as MASTER_KEY. Each purpose gets its own key; the same inputs, the same bytes.
 */
export async function deriveKey(
  secret: Uint8Array,
  info: string,
  length = 32,
): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: encoder.encode(info) },
    base,
    length * 8,
  );
  return new Uint8Array(bits);
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random base62 string; rejection sampling keeps every character equally likely. */
export function randomToken(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte < 248 && out.length < length) {
        out += BASE62.charAt(byte % 62);
      }
    }
  }
  return out;
}

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  }
  return diff === 0;
}

const PBKDF2_ITERATIONS = 100_000; // workerd's upper limit for PBKDF2

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    256,
  );
  return toHex(bits);
}

/** `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await pbkdf2(password, salt, PBKDF2_ITERATIONS);
  return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${toHex(salt)}$${hash}`;
}

/**
 * A stored hash in the current format that no password matches (no hex digest equals "-"), for
 * sign-in to check when the email is unknown: the same PBKDF2 runs, so both cost the same time.
 */
export const UNMATCHABLE_PASSWORD_HASH = `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${"00".repeat(16)}$-`;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterations, saltHex, hash] = stored.split("$");
  if (scheme !== "pbkdf2-sha256" || !iterations || !saltHex || !hash) {
    return false;
  }
  const salt = new Uint8Array(saltHex.match(/../g)?.map((pair) => Number.parseInt(pair, 16)) ?? []);
  return timingSafeEqual(await pbkdf2(password, salt, Number(iterations)), hash);
}
