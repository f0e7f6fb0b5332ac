/**
 * IP address literals, read in every notation the WHATWG URL parser accepts, and the ranges a
 * public host's address may not fall in (private, loopback, link-local, metadata, documentation,
 * multicast, reserved; IPv4 embedded in IPv6 is judged as IPv4): the address half of the webhook
 * URL rules (webhook-urls.ts).
 */

// ---- IPv4 ----

/** [first address, prefix length, what it is] */
const IPV4_REFUSED: [number, number, string][] = [
  [ip4(0, 0, 0, 0), 8, 'a "this network" address (0.0.0.0/8)'],
  [ip4(10, 0, 0, 0), 8, "a private address (10.0.0.0/8)"],
  [ip4(100, 64, 0, 0), 10, "a carrier-grade NAT address (100.64.0.0/10)"],
  [ip4(127, 0, 0, 0), 8, "a loopback address (127.0.0.0/8)"],
  [ip4(169, 254, 169, 254), 32, "a cloud metadata address (169.254.169.254)"],
  [ip4(169, 254, 0, 0), 16, "a link-local address (169.254.0.0/16)"],
  [ip4(172, 16, 0, 0), 12, "a private address (172.16.0.0/12)"],
  [ip4(192, 0, 0, 0), 24, "an IETF protocol address (192.0.0.0/24)"],
  [ip4(192, 0, 2, 0), 24, "a documentation address (192.0.2.0/24)"],
  [ip4(192, 88, 99, 0), 24, "a 6to4 relay address (192.88.99.0/24)"],
  [ip4(192, 168, 0, 0), 16, "a private address (192.168.0.0/16)"],
  [ip4(198, 18, 0, 0), 15, "a benchmarking address (198.18.0.0/15)"],
  [ip4(198, 51, 100, 0), 24, "a documentation address (198.51.100.0/24)"],
  [ip4(203, 0, 113, 0), 24, "a documentation address (203.0.113.0/24)"],
  [ip4(224, 0, 0, 0), 4, "a multicast address (224.0.0.0/4)"],
  [ip4(255, 255, 255, 255), 32, "the broadcast address (255.255.255.255)"],
  [ip4(240, 0, 0, 0), 4, "a reserved address (240.0.0.0/4)"],
];

function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function inPrefix(address: number, first: number, length: number): boolean {
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return (address & mask) >>> 0 === first;
}

export function formatIPv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 0xff).join(".");
}

/** Why a public host may not have this IPv4 address, or null when it may. */
export function refusedIPv4(address: number, shown: string): string | null {
  for (const [first, length, what] of IPV4_REFUSED) {
    if (inPrefix(address, first, length)) {
      return `${shown} is ${what}`;
    }
  }
  return null;
}

/**
 * An IPv4 address as the WHATWG URL standard reads a host: one to four dot-separated parts, each
 * decimal, `0x` hex or `0`-led octal, the last filling the remaining bytes (`127.1`,
 * `2130706433`). Returns null when the host is not an IPv4 address at all (a name), undefined
 * when it looks like one but is invalid.
 */
export function parseIPv4(host: string): number | null | undefined {
  const parts = host.split(".");
  const last = parts.at(-1) ?? "";
  // The standard treats a host as IPv4 when its last label is a number.
  if (!/^(0x[0-9a-f]*|[0-9]+)$/i.test(last)) {
    return null;
  }
  if (parts.length > 4) {
    return undefined;
  }
  const numbers: number[] = [];
  for (const part of parts) {
    const value = ipv4Number(part);
    if (value === undefined) {
      return undefined;
    }
    numbers.push(value);
  }
  const head = numbers.slice(0, -1);
  const tail = numbers.at(-1) ?? 0;
  if (head.some((n) => n > 255) || tail >= 256 ** (5 - numbers.length)) {
    return undefined;
  }
  let address = tail;
  head.forEach((n, i) => {
    address += n * 256 ** (3 - i);
  });
  return address;
}

function ipv4Number(part: string): number | undefined {
  if (/^0x[0-9a-f]*$/i.test(part)) {
    return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  }
  if (/^0[0-7]+$/.test(part)) {
    return Number.parseInt(part.slice(1), 8);
  }
  if (/^(0|[1-9][0-9]*)$/.test(part)) {
    return Number(part);
  }
  return undefined;
}

// ---- IPv6 ----

/** Eight 16-bit groups, or null when `text` is not an IPv6 address (zone ids are refused). */
export function parseIPv6(text: string): number[] | null {
  let body = text.toLowerCase();
  let tail: number[] = [];
  const dotted = body.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [, head = "", v4Text = ""] = dotted;
    const v4 = v4Text.split(".").map(Number);
    if (v4.some((n) => !Number.isInteger(n) || n > 255)) {
      return null;
    }
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    tail = [(a << 8) | b, (c << 8) | d];
    body = head.endsWith("::") ? head : head.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) {
    return null;
  }
  const groupsOf = (part: string): number[] | null => {
    if (part === "") {
      return [];
    }
    const groups = part.split(":");
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) {
      return null;
    }
    return groups.map((g) => Number.parseInt(g, 16));
  };
  const left = groupsOf(halves[0] ?? "");
  const right = halves.length === 2 ? groupsOf(halves[1] ?? "") : [];
  if (!left || !right) {
    return null;
  }
  const given = left.length + right.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) {
    return null;
  }
  return [...left, ...Array(8 - given).fill(0), ...right, ...tail];
}

function embeddedIPv4(high: number, low: number): number {
  return ((high << 16) | low) >>> 0;
}

/** Why a public host may not have this IPv6 address (eight groups), or null when it may. */
export function refusedIPv6(g: number[], shown: string): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) {
    return `${shown} is the unspecified address (::)`;
  }
  if (zeroUpTo(7) && g7 === 1) {
    return `${shown} is the loopback address (::1)`;
  }
  const embedded = (kind: string, v4: number) => {
    const problem = refusedIPv4(v4, formatIPv4(v4));
    return problem ? `${shown} is ${kind} of ${problem}` : null;
  };
  if (zeroUpTo(5) && g5 === 0xffff) {
    return embedded("the IPv4-mapped form", embeddedIPv4(g6, g7));
  }
  if (zeroUpTo(4) && g4 === 0xffff && g5 === 0) {
    return embedded("the IPv4-translated form", embeddedIPv4(g6, g7));
  }
  if (zeroUpTo(6)) {
    return embedded("the IPv4-compatible form", embeddedIPv4(g6, g7));
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return embedded("the NAT64 form", embeddedIPv4(g6, g7));
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) {
    return `${shown} is a local-use NAT64 address (64:ff9b:1::/48)`;
  }
  if (g0 === 0x2002) {
    return embedded("the 6to4 form", embeddedIPv4(g1, g2));
  }
  if (g0 === 0x2001 && g1 === 0) {
    return `${shown} is a Teredo address (2001::/32)`;
  }
  if (g0 === 0x2001 && g1 === 0xdb8) {
    return `${shown} is a documentation address (2001:db8::/32)`;
  }
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) {
    return `${shown} is a discard-only address (100::/64)`;
  }
  if ((g0 & 0xffc0) === 0xfe80) {
    return `${shown} is a link-local address (fe80::/10)`;
  }
  if ((g0 & 0xffc0) === 0xfec0) {
    return `${shown} is a site-local address (fec0::/10)`;
  }
  if ((g0 & 0xfe00) === 0xfc00) {
    return `${shown} is a unique local address (fc00::/7)`;
  }
  if ((g0 & 0xff00) === 0xff00) {
    return `${shown} is a multicast address (ff00::/8)`;
  }
  if ((g0 & 0xe000) !== 0x2000) {
    // Everything outside 2000::/3 is unassigned or special-purpose; none of it is a public host.
    return `${shown} is not a global unicast address (2000::/3)`;
  }
  return null;
}
