/**
 * Which URLs a tenant's webhook endpoint may have (server-side request forgery rules).
 *
 * A Worker cannot resolve DNS, so names are judged by name only: a public name that resolves to
 * a private address is not caught here. Literal addresses are judged by value, in every notation
 * the URL parser accepts: WHATWG parsing already turns `2130706433`, `0x7f000001`, `0177.0.0.1`
 * and `127.1` into `127.0.0.1` and compresses IPv6, and the checks (ip-addresses.ts) parse the
 * host again themselves, so they hold even for a host the parser left as written.
 */

import { formatIPv4, parseIPv4, parseIPv6, refusedIPv4, refusedIPv6 } from "./ip-addresses";

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reasons: string[] };

export interface WebhookUrlOptions {
  /** The development setting WEBHOOK_ALLOW_LOCAL_HTTP: 127.0.0.1 allowed, over http too. */
  allowLocalHttp: boolean;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** The loopback address the development setting allows. */
const DEV_HOST = "127.0.0.1";

const REFUSED_SUFFIXES = [
  "localhost",
  "local",
  "internal",
  "localdomain",
  "home.arpa",
  "intranet",
  "lan",
];

/** Cloud metadata services reachable by name. */
const METADATA_NAMES = ["metadata.goog", "metadata.tencentyun.com", "metadata.azure.com"];

/** Public names that resolve to loopback, or to whatever address is written into them. */
const RESOLVE_TO_LOOPBACK_OR_EMBEDDED = [
  "localtest.me",
  "lvh.me",
  "vcap.me",
  "nip.io",
  "sslip.io",
  "xip.io",
  "traefik.me",
  "localhost.direct",
];

export function checkWebhookUrl(text: string, options: WebhookUrlOptions): WebhookUrlCheck {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    return { ok: false, reasons: [`must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`] };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reasons: ["is not an absolute URL"] };
  }
  const reasons: string[] = [];
  const devLoopback = options.allowLocalHttp && url.hostname === DEV_HOST;
  if (url.protocol !== "https:" && !(devLoopback && url.protocol === "http:")) {
    reasons.push(
      options.allowLocalHttp
        ? "must use https (http only for 127.0.0.1 in development)"
        : "must use https",
    );
  }
  if (url.username !== "" || url.password !== "") {
    reasons.push("must not contain a user name or password");
  }
  if (url.protocol === "https:" || url.protocol === "http:") {
    const hostProblem = devLoopback ? null : refusedHost(url.hostname);
    if (hostProblem) {
      reasons.push(hostProblem);
    }
  }
  return reasons.length === 0 ? { ok: true, url } : { ok: false, reasons };
}

/** Why a URL's host (as `URL.hostname` gives it) is refused, or null when it is allowed. */
export function refusedHost(hostname: string): string | null {
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    const address = parseIPv6(hostname.slice(1, -1));
    return address ? refusedIPv6(address, hostname) : `${hostname} is not a valid IPv6 address`;
  }
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  const v4 = parseIPv4(name);
  if (v4 === undefined) {
    return `${hostname} is not a valid IPv4 address`;
  }
  if (v4 !== null) {
    return refusedIPv4(v4, formatIPv4(v4));
  }
  if (name === "") {
    return "must name a host";
  }
  for (const suffix of REFUSED_SUFFIXES) {
    if (name === suffix || name.endsWith(`.${suffix}`)) {
      return `${hostname} is a local name (${suffix === "localhost" ? "localhost" : `*.${suffix}`})`;
    }
  }
  if (METADATA_NAMES.includes(name)) {
    return `${hostname} is a cloud metadata service`;
  }
  for (const domain of RESOLVE_TO_LOOPBACK_OR_EMBEDDED) {
    if (name === domain || name.endsWith(`.${domain}`)) {
      return `${hostname} resolves to loopback or to an address written in the name (${domain})`;
    }
  }
  if (!name.includes(".")) {
    // Single labels (`metadata`, `instance-data`, `intranet-server`) resolve only through a
    // private network's search domains.
    return `${hostname} is not a fully qualified public name`;
  }
  return null;
}
