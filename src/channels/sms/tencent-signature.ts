/**
 * TC3-HMAC-SHA256, Tencent Cloud API 3.0's request signature ("签名方法 v3"). Only the POST form
 * is implemented: API 3.0 signs "/" as the URI and an empty query string for every POST, whatever
 * path the request is sent to.
 */
import { sha256Hex, toHex } from "../../lib/crypto";

const ALGORITHM = "TC3-HMAC-SHA256";
const encoder = new TextEncoder();

export interface Tc3Request {
  secretId: string;
  secretKey: string;
  /** The product, as in its host name: `sms` for sms.tencentcloudapi.com, `cvm`, ... */
  service: string;
  /** Unix seconds: the `X-TC-Timestamp` sent, and (as a UTC date) the credential scope. */
  timestamp: number;
  /** The headers to sign, as sent: at least `content-type` and `host`. Names in any case. */
  headers: Readonly<Record<string, string>>;
  /** The body exactly as sent: the hash covers its UTF-8 bytes, escapes and spacing included. */
  payload: string;
}

export interface Tc3Signature {
  canonicalRequest: string;
  stringToSign: string;
  /** Lowercase hex. */
  signature: string;
  /** The `Authorization` header value. */
  authorization: string;
}

/**
 * The credential scope's date is the UTC date of the timestamp: Tencent warns that a local date
 * (UTC+8 in their example) makes calls fail every night between 00:00 and 08:00.
 */
function utcDate(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
}

export async function signTc3Request(request: Tc3Request): Promise<Tc3Signature> {
  // Both names and values are lowercased and trimmed, then sorted by name (ASCII).
  const headers = Object.entries(request.headers)
    .map(([name, value]) => [name.trim().toLowerCase(), value.trim().toLowerCase()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalHeaders = headers.map(([name, value]) => `${name}:${value}\n`).join("");
  const signedHeaders = headers.map(([name]) => name).join(";");
  const canonicalRequest = [
    "POST",
    "/",
    "",
    canonicalHeaders,
    signedHeaders,
    await sha256Hex(request.payload),
  ].join("\n");

  const date = utcDate(request.timestamp);
  const credentialScope = `${date}/${request.service}/tc3_request`;
  const stringToSign = [
    ALGORITHM,
    String(request.timestamp),
    credentialScope,
    await sha256Hex(canonicalRequest),
  ].join("\n");

  const secretDate = await hmac(encoder.encode(`TC3${request.secretKey}`), date);
  const secretService = await hmac(secretDate, request.service);
  const secretSigning = await hmac(secretService, "tc3_request");
  const signature = toHex(await hmac(secretSigning, stringToSign));

  return {
    canonicalRequest,
    stringToSign,
    signature,
    authorization: `${ALGORITHM} Credential=${request.secretId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}
