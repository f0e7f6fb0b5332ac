/**
 * Twilio's webhook signature (`X-Twilio-Signature`), as its "Webhooks security" page and its helper
 * libraries define it: base64 of HMAC-SHA1, keyed by the account's auth token, over the URL Twilio
 * called followed by every POST parameter's name and value, sorted by name. A JSON webhook instead
 * carries `bodySHA256` (hex SHA-256 of the raw body) in its query string and is signed over the URL
 * alone.
 */

export type FormParams = Iterable<readonly [name: string, value: string]>;

const encoder = new TextEncoder();

/** The `X-Twilio-Signature` Twilio sends when it posts `params` to `url`. */
export async function twilioSignatureOf(
  authToken: string,
  url: string,
  params: FormParams,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(authToken),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(url + signedParams(params)));
  return base64Of(new Uint8Array(mac));
}

/**
 * Whether `signature` is Twilio's for a POST of the raw `body` to `url` (the URL as Twilio called
 * it, query string included). The body is read as form parameters unless the URL carries
 * `bodySHA256`, in which case the body must hash to it and only the URL is signed.
 */
export async function isSignedByTwilio(
  authToken: string,
  signature: string,
  url: string,
  body: string,
): Promise<boolean> {
  const bodyHash = bodySha256Of(url);
  if (bodyHash !== null) {
    const actual = await sha256HexOf(body);
    if (!equalInConstantTime(actual, bodyHash.toLowerCase())) {
      return false;
    }
  }
  const params: FormParams = bodyHash === null ? new URLSearchParams(body) : [];
  const entries = [...params];
  let valid = false;
  for (const candidate of urlsTwilioMaySign(url)) {
    // Every candidate is checked, so the time taken does not tell which one matched.
    const expected = await twilioSignatureOf(authToken, candidate, entries);
    valid = equalInConstantTime(expected, signature) || valid;
  }
  return valid;
}

/** The `bodySHA256` query parameter of a JSON webhook's URL, or null for a form-encoded one. */
export function bodySha256Of(url: string): string | null {
  const query = url.indexOf("?");
  if (query < 0) {
    return null;
  }
  const fragment = url.indexOf("#", query);
  return new URLSearchParams(url.slice(query + 1, fragment < 0 ? undefined : fragment)).get(
    "bodySHA256",
  );
}

/**
 * Names sorted; a name that repeats contributes each of its distinct values, sorted. Identical
 * name/value pairs count once: that is what Twilio's helper libraries sign (twilio-python's
 * `compute_signature` takes `sorted(set(values))`), and their published vector for
 * `Digits=5678&Digits=1234&Digits=1234` only matches that way.
 */
function signedParams(params: FormParams): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    const values = byName.get(name) ?? new Set<string>();
    values.add(value);
    byName.set(name, values);
  }
  let data = "";
  for (const name of [...byName.keys()].sort()) {
    for (const value of [...(byName.get(name) ?? [])].sort()) {
      data += name + value;
    }
  }
  return data;
}

/**
 * The URL itself, and the same URL with the scheme's default port written out (or left out, when
 * it is written). Twilio's helper libraries accept both because Twilio's own signing is not
 * consistent about the port (twilio-node's `validateRequest` says so); both name the same endpoint.
 */
function urlsTwilioMaySign(url: string): string[] {
  const parts = /^(https?):\/\/([^/?#]*)(.*)$/is.exec(url);
  if (!parts) {
    return [url];
  }
  const [, scheme = "", authority = "", rest = ""] = parts;
  const defaultPort = scheme.toLowerCase() === "https" ? "443" : "80";
  const port = /:(\d+)$/.exec(authority);
  if (!port) {
    return [url, `${scheme}://${authority}:${defaultPort}${rest}`];
  }
  if (port[1] === defaultPort) {
    return [url, `${scheme}://${authority.slice(0, port.index)}${rest}`];
  }
  return [url];
}

async function sha256HexOf(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Compares without stopping at the first difference, so the time taken does not reveal how much of
 * a forged signature was right. Lengths are not secret (a Twilio signature is always 28 characters).
 */
export function equalInConstantTime(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) {
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}

function base64Of(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary);
}
