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
  | "ctc"
  | "rol"
  | "inv"
  | "aud"
  | "inb"
  | "cnv"
  | "fwd"
  | "vrf"
  | "brd"
  | "med"
  | "qr"
  | "qry"
  | "fsy"
  | "cev"
  | "cnr"
  | "wcm"
  | "chk"
  | "isp";

/** `value` in `width` Crockford base32 digits, most significant first. */
function base32(value: number, width: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = CROCKFORD.charAt(rest % 32) + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

let lastMs = Number.NaN;
let lastTime = "";

/** Ids made in the same millisecond (a batch's, a busy isolate's) share its encoding. */
function encodeTime(ms: number): string {
  if (ms !== lastMs) {
    lastTime = base32(ms, 10);
    lastMs = ms;
  }
  return lastTime;
}

function charsOf(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    out += CROCKFORD.charAt(byte % 32);
  }
  return out;
}

/**
 * Random bytes drawn from WebCrypto a pool at a time rather than one call per id (a native call
 * each); every byte is used once. 256 is a multiple of 32, so `byte % 32` keeps each character
 * equally likely.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let poolAt = 0;

function randomChars(count: number): string {
  if (poolAt + count > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    poolAt = 0;
  }
  const chars = charsOf(pool.subarray(poolAt, poolAt + count));
  poolAt += count;
  return chars;
}

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  return `${prefix}_${encodeTime(nowMs)}${randomChars(16)}`;
}

/**
 * The lowest id of `prefix` made at `ms`: every id made earlier sorts below it, every id made at
 * `ms` or later above it, so `id < firstIdAt(p, ms)` seeks "made before ms" on an id index.
 */
export function firstIdAt(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(ms)}`;
}

/** Rows a series of seeded ids can number: six base32 digits. */
const SERIES_LIMIT = 32 ** 6;

/**
 * An id whose random part follows from `seed` (32 bytes) instead of chance: the same seed and
 * time give the same id, so work re-run for one Idempotency-Key finds what it made before. With
 * `n`, the n-th id of a series (a batch's rows): 10 characters of the seed, then `n`.
 */
export function seededId(prefix: IdPrefix, nowMs: number, seed: Uint8Array, n?: number): string {
  if (n === undefined) {
    return `${prefix}_${encodeTime(nowMs)}${charsOf(seed.subarray(0, 16))}`;
  }
  if (!Number.isInteger(n) || n < 0 || n >= SERIES_LIMIT) {
    throw new RangeError(`a series of seeded ids numbers 0 to ${SERIES_LIMIT - 1}, not ${n}`);
  }
  return `${prefix}_${encodeTime(nowMs)}${charsOf(seed.subarray(16, 26))}${base32(n, 6)}`;
}
