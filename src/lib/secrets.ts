/**
 * Secrets at rest (provider credentials, webhook signing secrets): AES-256-GCM under a key derived
 * with HKDF from MASTER_KEY, one key per purpose, a fresh 12-byte IV per value. Stored as
 * `v1.<iv base64>.<ciphertext base64>`; the purpose is bound as associated data, so a value
 * cannot be moved from one column to another and still decrypt.
 *
 * During a rotation of MASTER_KEY a value may be under the key before it: `decryptSecret` takes the
 * keys to try, the current one first, and `reencryptSecret` moves a value under the current one.
 */
import { deriveKey } from "./crypto";

export type SecretPurpose =
  | "provider-credentials"
  | "webhook-secret"
  | "sso-signing-key"
  | "webchat-identity-secret";

const keys = new Map<string, Promise<CryptoKey>>();

function masterBytes(masterKey: string): Uint8Array {
  return Uint8Array.from(atob(masterKey), (ch) => ch.charCodeAt(0));
}

function keyFor(masterKey: string, purpose: SecretPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}:${masterKey}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = deriveKey(masterBytes(masterKey), `relaybox ${purpose} v1`).then((bytes) =>
      crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]),
    );
    keys.set(cacheKey, key);
  }
  return key;
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    text += String.fromCharCode(byte);
  }
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

export async function encryptSecret(
  masterKey: string,
  purpose: SecretPurpose,
  plaintext: string,
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(purpose) },
    await keyFor(masterKey, purpose),
    new TextEncoder().encode(plaintext),
  );
  return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

async function decryptUnder(
  masterKey: string,
  purpose: SecretPurpose,
  stored: string,
): Promise<string | null> {
  const [version, iv, ciphertext] = stored.split(".");
  if (version !== "v1" || !iv || !ciphertext) {
    throw new Error("not a v1 secret");
  }
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(iv), additionalData: new TextEncoder().encode(purpose) },
      await keyFor(masterKey, purpose),
      fromBase64(ciphertext),
    );
    return new TextDecoder().decode(plaintext);
  } catch {
    // AES-GCM's tag does not match: another key (or purpose), or a damaged value.
    return null;
  }
}

/**
 * The plaintext, under the first of `masterKeys` (current first, then the previous one) that
 * opens it. Throws if the value was not made by `encryptSecret` with one of them and this purpose.
 */
export async function decryptSecret(
  masterKeys: string | readonly string[],
  purpose: SecretPurpose,
  stored: string,
): Promise<string> {
  for (const masterKey of typeof masterKeys === "string" ? [masterKeys] : masterKeys) {
    const plaintext = await decryptUnder(masterKey, purpose, stored);
    if (plaintext !== null) {
      return plaintext;
    }
  }
  throw new Error("the secret does not decrypt under any master key given");
}

export type Reencryption =
  | { outcome: "current" }
  | { outcome: "reencrypted"; stored: string }
  | { outcome: "unreadable" };

/**
 * `stored` moved under `masterKeys[0]`: unchanged when it is under it already, re-encrypted when an
 * older key opens it, unreadable when none does (left as it is, for an operator to look at).
 */
export async function reencryptSecret(
  masterKeys: readonly string[],
  purpose: SecretPurpose,
  stored: string,
): Promise<Reencryption> {
  const [current, ...older] = masterKeys;
  if (current === undefined) {
    throw new Error("no master key given");
  }
  if ((await decryptUnder(current, purpose, stored)) !== null) {
    return { outcome: "current" };
  }
  for (const masterKey of older) {
    const plaintext = await decryptUnder(masterKey, purpose, stored);
    if (plaintext !== null) {
      return { outcome: "reencrypted", stored: await encryptSecret(current, purpose, plaintext) };
    }
  }
  return { outcome: "unreadable" };
}
