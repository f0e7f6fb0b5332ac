/**
 * Alibaba Cloud's RPC request signature (SignatureMethod HMAC-SHA1, SignatureVersion 1.0), as
 * documented in "Signature mechanism" for RPC APIs and in the SMS "HTTP protocol and signature"
 * page: sort the parameters by name, percent-encode names and values, join them into the
 * canonicalized query, then sign `METHOD&%2F&<percent-encoded canonicalized query>` with HMAC-SHA1
 * keyed by `AccessKeySecret + "&"`, and send the Base64 digest as `Signature`.
 */

/**
 * Alibaba's encoding is RFC 3986 over UTF-8 bytes: only `A-Z a-z 0-9 - _ . ~` stay as they are,
 * a space is `%20` (never `+`), and `*` is `%2A` — unlike `encodeURIComponent`, which leaves
 * `! ' ( ) *` alone. Working on the encoded bytes also never throws on a lone surrogate (the
 * encoder writes U+FFFD), where `encodeURIComponent` would.
 */
export function percentEncode(value: string): string {
  let encoded = "";
  for (const byte of new TextEncoder().encode(value)) {
    if (isUnreserved(byte)) {
      encoded += String.fromCharCode(byte);
    } else {
      encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return encoded;
}

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || // -
    byte === 0x5f || // _
    byte === 0x2e || // .
    byte === 0x7e // ~
  );
}

/**
 * `name=value` pairs, encoded, in the order of the parameter names (plain code-unit order, as
 * Alibaba's SDKs sort them), joined by `&`. `Signature` itself is never part of it.
 */
export function canonicalizedQuery(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((name) => name !== "Signature")
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(params[name] ?? "")}`)
    .join("&");
}

export function rpcStringToSign(
  method: "GET" | "POST",
  params: Readonly<Record<string, string>>,
): string {
  return `${method}&${percentEncode("/")}&${percentEncode(canonicalizedQuery(params))}`;
}

/** The `Signature` value (Base64), before it is percent-encoded into the request. */
export async function rpcSignature(
  method: "GET" | "POST",
  params: Readonly<Record<string, string>>,
  accessKeySecret: string,
): Promise<string> {
  const encoder = new TextEncoder();
  // The key is the secret followed by "&": the formula line in the documentation reads
  // HMAC-SHA1(AccessSecret, ...), but its note (and both published examples) add the "&".
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(`${accessKeySecret}&`),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const digest = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(rpcStringToSign(method, params)),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** The signed request body (or query): the canonicalized parameters plus `Signature`. */
export async function signedRpcQuery(
  method: "GET" | "POST",
  params: Readonly<Record<string, string>>,
  accessKeySecret: string,
): Promise<string> {
  const signature = await rpcSignature(method, params, accessKeySecret);
  return `${canonicalizedQuery(params)}&Signature=${percentEncode(signature)}`;
}
