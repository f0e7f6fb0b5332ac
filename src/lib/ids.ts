/**
 * Prefixed, time-ordered ids (`msg_01JD…`): 10 Crockford base32 characters of milliseconds, then
 * 16 random ones. Ordering by id is ordering by creation time, which keeps list cursors simple.
 */

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export type IdPrefix =
  | "msg"
  | "tnt"
  | "key"
  | "usr"
  | "prv"
  | "att"
  | "req"
  | "tpl"
  | "sig"
  | "bat"
  | "sw"
  | "whk"
  | "whd"
  | "evt"
  | "rte"
  | "wxm"
  | "arr"
  | "ctc";

function encodeTime(ms: number): string {
  let out = "";
  let value = ms;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD.charAt(value % 32) + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function randomChars(count: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(count));
  let out = "";
  for (const byte of bytes) {
    out += CROCKFORD.charAt(byte % 32);
  }
  return out;
}

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  return `${prefix}_${encodeTime(nowMs)}${randomChars(16)}`;
}
