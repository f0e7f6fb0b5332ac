/**
 * WeChat's message encryption (safe and compatible mode), as its "消息加解密说明" technical scheme
 * defines it: AES-256-CBC with key = Base64_Decode(EncodingAESKey + "=") and IV = the key's first
 * 16 bytes; the plaintext is 16 random bytes, the message's byte length as a 4-byte big-endian
 * integer, the message (UTF-8), then the app id; PKCS#7 padding to a multiple of **32** bytes.
 *
 * WebCrypto's AES-CBC only knows 16-byte PKCS#7 padding, so both directions work around it (see
 * NOTES.md, "WeChat message crypto in workerd"). Decryption does not authenticate anything: check
 * `msg_signature` (signature.ts) first.
 */

import { buildEncryptedReplyXml } from "./reply-xml";
import { messageSignature } from "./signature";

export type WeChatCryptoErrorCode =
  /** The EncodingAESKey is not 43 characters of base64. */
  | "bad-key"
  /** `Encrypt` is not base64, or not a whole number of AES blocks. */
  | "bad-ciphertext"
  /** The last byte is not a padding length of 1–32, or the padding bytes disagree with it. */
  | "bad-padding"
  /** The 4-byte length points past the end of the plaintext. */
  | "bad-length-field"
  /** The message is not valid UTF-8. */
  | "bad-encoding"
  /** The trailing app id is not ours: a message for another account, or another account's key. */
  | "app-id-mismatch";

export interface WeChatCryptoError {
  code: WeChatCryptoErrorCode;
  /** Never: the same bytes fail the same way every time. */
  retryable: false;
  detail: string;
}

export type DecryptResult = { ok: true; xml: string } | { ok: false; error: WeChatCryptoError };
export type EncryptResult = { ok: true; encrypt: string } | { ok: false; error: WeChatCryptoError };
export type EncryptedReplyResult =
  | { ok: true; body: string }
  | { ok: false; error: WeChatCryptoError };

const BLOCK = 16;
/** WeChat pads to 32-byte blocks (its "K", the key length), not AES's 16. */
const WECHAT_PAD_BLOCK = 32;
const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * WeChat generates 43 characters from `[A-Za-z0-9]`; `+` and `/` are allowed too since the key is
 * only ever base64-decoded. The 43rd character carries 2 bits that the decoder drops (WeChat's own
 * keys leave them non-zero, e.g. the sample key ending "…B2C"), so they are not checked.
 */
export function isEncodingAesKey(encodingAesKey: string): boolean {
  return /^[A-Za-z0-9+/]{43}$/.test(encodingAesKey);
}

/**
 * The XML (or JSON) inside `encryptBase64`, provided its trailing app id is `expectedAppId`. WeChat
 * lets an account change its EncodingAESKey and asks servers to keep the previous one: a caller
 * that gets an error with the current key may try the previous key.
 */
export async function decryptMessage(
  encodingAesKey: string,
  encryptBase64: string,
  expectedAppId: string,
): Promise<DecryptResult> {
  const key = await importKey(encodingAesKey);
  if (key === null) {
    return failure("bad-key", "the EncodingAESKey must be 43 characters of base64");
  }
  const ciphertext = bytesOfBase64(encryptBase64);
  if (ciphertext === null || ciphertext.length === 0 || ciphertext.length % BLOCK !== 0) {
    return failure("bad-ciphertext", "Encrypt must be base64 of a whole number of 16-byte blocks");
  }
  const plain = await decryptUnpadded(key, ciphertext);

  const pad = plain[plain.length - 1] ?? 0;
  // Checks every padding byte rather than only the last: a wrong key almost never passes this.
  if (pad < 1 || pad > WECHAT_PAD_BLOCK || pad > plain.length || !endsWithPadding(plain, pad)) {
    return failure("bad-padding", "the plaintext does not end in PKCS#7 padding of 1-32 bytes");
  }
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < RANDOM_BYTES + LENGTH_BYTES) {
    return failure("bad-length-field", "the plaintext is shorter than its random and length parts");
  }
  const messageLength = new DataView(
    content.buffer,
    content.byteOffset + RANDOM_BYTES,
    LENGTH_BYTES,
  ).getUint32(0);
  const messageEnd = RANDOM_BYTES + LENGTH_BYTES + messageLength;
  if (messageEnd > content.length) {
    return failure("bad-length-field", `the message length ${messageLength} runs past the end`);
  }
  let xml: string;
  let appId: string;
  try {
    xml = strictUtf8.decode(content.subarray(RANDOM_BYTES + LENGTH_BYTES, messageEnd));
    appId = strictUtf8.decode(content.subarray(messageEnd));
  } catch {
    return failure("bad-encoding", "the message or app id is not valid UTF-8");
  }
  if (appId !== expectedAppId) {
    return failure("app-id-mismatch", "the message was encrypted for another app id");
  }
  return { ok: true, xml };
}

/**
 * `xml` encrypted for `appId`, base64-encoded: the `Encrypt` of a reply. `random16` is for tests;
 * WeChat's samples use 16 random ASCII characters, any 16 bytes do since the reader skips them.
 */
export async function encryptMessage(
  encodingAesKey: string,
  appId: string,
  xml: string,
  random16: Uint8Array = crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)),
): Promise<EncryptResult> {
  if (random16.length !== RANDOM_BYTES) {
    throw new RangeError(`random16 must be ${RANDOM_BYTES} bytes, got ${random16.length}`);
  }
  const key = await importKey(encodingAesKey);
  if (key === null) {
    return failure("bad-key", "the EncodingAESKey must be 43 characters of base64");
  }
  const message = encoder.encode(xml);
  const appIdBytes = encoder.encode(appId);
  const length = RANDOM_BYTES + LENGTH_BYTES + message.length + appIdBytes.length;
  const pad = WECHAT_PAD_BLOCK - (length % WECHAT_PAD_BLOCK);
  const padded = new Uint8Array(length + pad);
  padded.set(random16, 0);
  new DataView(padded.buffer).setUint32(RANDOM_BYTES, message.length);
  padded.set(message, RANDOM_BYTES + LENGTH_BYTES);
  padded.set(appIdBytes, RANDOM_BYTES + LENGTH_BYTES + message.length);
  padded.fill(pad, length);

  const encrypted = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-CBC", iv: key.iv }, key.aes, padded),
  );
  // `padded` is already whole blocks, so WebCrypto's own padding is one extra block at the end.
  return { ok: true, encrypt: base64OfBytes(encrypted.subarray(0, padded.length)) };
}

export interface EncryptedReplyInput {
  token: string;
  encodingAesKey: string;
  appId: string;
  /** The passive reply in plain XML (reply-xml.ts `buildReplyXml`). */
  xml: string;
  /** Unix seconds, as a string: it is signed as text. */
  timestamp: string;
  /** WeChat's samples echo the push's `nonce`. */
  nonce: string;
  random16?: Uint8Array;
}

/**
 * The whole body of an encrypted passive reply: `xml` encrypted, signed with `msg_signature`'s
 * scheme, in the `<Encrypt/><MsgSignature/><TimeStamp/><Nonce/>` envelope WeChat expects.
 */
export async function encryptReply(input: EncryptedReplyInput): Promise<EncryptedReplyResult> {
  const encrypted = await encryptMessage(
    input.encodingAesKey,
    input.appId,
    input.xml,
    input.random16,
  );
  if (!encrypted.ok) {
    return encrypted;
  }
  const signature = await messageSignature(
    input.token,
    input.timestamp,
    input.nonce,
    encrypted.encrypt,
  );
  return {
    ok: true,
    body: buildEncryptedReplyXml(encrypted.encrypt, signature, input.timestamp, input.nonce),
  };
}

interface WeChatKey {
  aes: CryptoKey;
  iv: Uint8Array;
}

async function importKey(encodingAesKey: string): Promise<WeChatKey | null> {
  if (!isEncodingAesKey(encodingAesKey)) {
    return null;
  }
  const raw = bytesOfBase64(`${encodingAesKey}=`);
  if (raw === null || raw.length !== 32) {
    return null;
  }
  const aes = await crypto.subtle.importKey("raw", raw, "AES-CBC", false, ["encrypt", "decrypt"]);
  return { aes, iv: raw.slice(0, BLOCK) };
}

/**
 * Decrypts without looking at the padding, which WebCrypto would refuse whenever WeChat padded
 * 17–32 bytes. One more block is appended: the encryption of a full block of 16-byte padding
 * chained from the last ciphertext block, which is what encrypting nothing with that block as IV
 * gives. WebCrypto then strips exactly that block and returns the original plaintext untouched.
 */
async function decryptUnpadded(key: WeChatKey, ciphertext: Uint8Array): Promise<Uint8Array> {
  const lastBlock = ciphertext.slice(ciphertext.length - BLOCK);
  const extra = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-CBC", iv: lastBlock }, key.aes, new Uint8Array(0)),
  );
  const extended = new Uint8Array(ciphertext.length + BLOCK);
  extended.set(ciphertext, 0);
  extended.set(extra, ciphertext.length);
  return new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-CBC", iv: key.iv }, key.aes, extended),
  );
}

function endsWithPadding(bytes: Uint8Array, pad: number): boolean {
  let diff = 0;
  for (let i = bytes.length - pad; i < bytes.length; i++) {
    diff |= (bytes[i] ?? 0) ^ pad;
  }
  return diff === 0;
}

function failure(
  code: WeChatCryptoErrorCode,
  detail: string,
): { ok: false; error: WeChatCryptoError } {
  return { ok: false, error: { code, retryable: false, detail } };
}

function bytesOfBase64(text: string): Uint8Array | null {
  // atob also accepts whitespace and missing padding; WeChat sends neither, so neither is taken.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    return null;
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

function base64OfBytes(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary);
}
