/**
 * Secrets at rest (provider credentials, webhook signing secrets): AES-256-GCM under a key derived
 * with HKDF from MASTER_KEY, one key per purpose, a fresh 12-byte IV per value. Stored as
 * `v1.<iv base64>.<ciphertext base64>`; the purpose is bound as associated data, so a value
 * cannot be moved from one column to another and still decrypt.
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

/** Throws if the value was not made by `encryptSecret` with this master key and purpose. */
export async function decryptSecret(
  masterKey: string,
  purpose: SecretPurpose,
  stored: string,
): Promise<string> {
  const [version, iv, ciphertext] = stored.split(".");
  if (version !== "v1" || !iv || !ciphertext) {
    throw new Error("not a v1 secret");
  }
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv), additionalData: new TextEncoder().encode(purpose) },
    await keyFor(masterKey, purpose),
    fromBase64(ciphertext),
  );
  return new TextDecoder().decode(plaintext);
}
