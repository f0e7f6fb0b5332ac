/**
 * WeChat's callback signatures, as its "消息推送" / "消息加解密说明" pages define them: the SHA-1
 * (lower-case hex) of the token, the URL's `timestamp` and `nonce` (and, for `msg_signature`, the
 * body's `Encrypt`), sorted lexicographically and concatenated with nothing between them.
 *
 * `signature` (URL verification and plaintext mode) covers the token, timestamp and nonce only, so
 * it says nothing about the body: in safe or compatible mode check `msg_signature` before
 * decrypting, which also keeps a tampered ciphertext from ever reaching the padding check.
 */

import { timingSafeEqual, toHex } from "../../lib/crypto";

const encoder = new TextEncoder();

/**
 * How far a callback's `timestamp` may be from our clock, either way, before it is refused: 5
 * minutes: WeChat's retries (three, within about 15 s of the push) keep the push's timestamp, and
 * WeChat's clock and ours may differ a little. Within it a signature is good for one message only:
 * the account's object keeps each (timestamp, nonce) for as long as it could be fresh
 * (durable-objects/wechat-account/signature-uses.ts).
 */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The `signature` WeChat puts on a URL-verification GET and on every push's URL. */
export function wechatSignature(token: string, timestamp: string, nonce: string): Promise<string> {
  return sha1OfSorted([token, timestamp, nonce]);
}

/** The `msg_signature` over an encrypted push, and the `MsgSignature` of an encrypted reply. */
export function messageSignature(
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
): Promise<string> {
  return sha1OfSorted([token, timestamp, nonce, encrypt]);
}

/** Whether `signature` is WeChat's for this token, timestamp and nonce. */
export async function verifyWeChatSignature(
  token: string,
  timestamp: string,
  nonce: string,
  signature: string,
): Promise<boolean> {
  return timingSafeEqual(await wechatSignature(token, timestamp, nonce), signature);
}

/** Whether `msgSignature` is WeChat's for this token, timestamp, nonce and `Encrypt` value. */
export async function verifyMessageSignature(
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
  msgSignature: string,
): Promise<boolean> {
  return timingSafeEqual(await messageSignature(token, timestamp, nonce, encrypt), msgSignature);
}

/**
 * Whether a callback's `timestamp` (Unix seconds, digits only) is within `toleranceSeconds` of
 * `nowMs`, in either direction; exactly `toleranceSeconds` away still counts. The signature does
 * not expire by itself, so without this a captured push could be replayed for ever. WeChat retries
 * a push three times within about 15 s with the same timestamp, well inside the default.
 */
export function isFresh(
  timestamp: string,
  nowMs: number,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  // Ten digits covers Unix seconds until 2286; more than that is not a WeChat timestamp.
  if (!/^\d{1,10}$/.test(timestamp)) {
    return false;
  }
  return Math.abs(nowMs - Number(timestamp) * 1000) <= toleranceSeconds * 1000;
}

/**
 * JavaScript's default sort compares UTF-16 code units; WeChat's samples sort bytes (PHP
 * `sort(SORT_STRING)`) or code units (Java `Arrays.sort`). All agree on the ASCII WeChat puts in
 * these parameters (tokens are `[A-Za-z0-9]`, timestamps and nonces digits, `Encrypt` base64).
 */
async function sha1OfSorted(parts: string[]): Promise<string> {
  const joined = [...parts].sort().join("");
  return toHex(await crypto.subtle.digest("SHA-1", encoder.encode(joined)));
}
