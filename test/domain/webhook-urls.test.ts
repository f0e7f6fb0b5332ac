import { describe, expect, it } from "vitest";
import { parseIPv4, parseIPv6 } from "../../src/domain/ip-addresses";
import { checkWebhookUrl } from "../../src/domain/webhook-urls";

const PRODUCTION = { allowLocalHttp: false };
const DEVELOPMENT = { allowLocalHttp: true };

function reasonsFor(url: string, options = PRODUCTION): string[] {
  const check = checkWebhookUrl(url, options);
  return check.ok ? [] : check.reasons;
}

describe("webhook URL rules", () => {
  it.each([
    "https://example.com/hooks/relaybox",
    "https://hooks.example.co.uk:8443/relaybox?tenant=1",
    "https://8.8.8.8/hook",
    "https://1.1.1.1/",
    "https://172.15.255.255/",
    "https://172.32.0.1/",
    "https://100.63.255.255/",
    "https://100.128.0.0/",
    "https://169.253.255.255/",
    "https://192.169.0.1/",
    "https://[2606:4700:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",
    "https://[64:ff9b::808:808]/",
    "https://[2002:808:808::1]/",
    "https://xn--bcher-kva.example/",
    "https://internal.example.com/",
    "https://local.example.com/",
  ])("accepts %s", (url) => {
    expect(reasonsFor(url)).toEqual([]);
  });

  it.each([
    // Scheme and credentials
    ["http://example.com/hook", /must use https/],
    ["ftp://example.com/hook", /must use https/],
    ["https://user:secret@example.com/", /user name or password/],
    ["https://user@example.com/", /user name or password/],
    ["not a url", /not an absolute URL/],
    // Local and metadata names
    ["https://localhost/", /local name \(localhost\)/],
    ["https://LOCALHOST./", /local name/],
    ["https://api.localhost/", /local name \(localhost\)/],
    ["https://printer.local/", /\*\.local/],
    ["https://svc.cluster.local/", /\*\.local/],
    ["https://db.internal/", /\*\.internal/],
    ["https://metadata.google.internal/computeMetadata/v1/", /\*\.internal/],
    ["https://metadata.google.internal./", /\*\.internal/],
    ["https://instance-data.ec2.internal/", /\*\.internal/],
    ["https://router.home.arpa/", /\*\.home\.arpa/],
    ["https://box.localdomain/", /\*\.localdomain/],
    ["https://metadata.tencentyun.com/latest/meta-data/", /metadata service/],
    ["https://metadata.goog/", /metadata service/],
    ["https://metadata/", /not a fully qualified/],
    ["https://instance-data/", /not a fully qualified/],
    ["https://127.0.0.1.nip.io/", /nip\.io/],
    ["https://10-0-0-1.sslip.io/", /sslip\.io/],
    ["https://app.localtest.me/", /localtest\.me/],
    ["https://ｌｏｃａｌｈｏｓｔ/", /local name \(localhost\)/],
    // IPv4 loopback in every notation
    ["https://127.0.0.1/", /127\.0\.0\.1 is a loopback address/],
    ["https://127.255.255.254/", /loopback/],
    ["https://2130706433/", /127\.0\.0\.1 is a loopback address/],
    ["https://0x7f000001/", /127\.0\.0\.1 is a loopback address/],
    ["https://0x7F.0.0.1/", /127\.0\.0\.1 is a loopback address/],
    ["https://0177.0.0.1/", /127\.0\.0\.1 is a loopback address/],
    ["https://0177.0000.0000.0001/", /127\.0\.0\.1 is a loopback address/],
    ["https://127.1/", /127\.0\.0\.1 is a loopback address/],
    ["https://127.0.1/", /127\.0\.0\.1 is a loopback address/],
    ["https://%31%32%37.0.0.1/", /127\.0\.0\.1 is a loopback address/],
    ["https://127.0.0.1.:8443/", /loopback/],
    // Other IPv4 ranges
    ["https://0.0.0.0/", /"this network"/],
    ["https://0/", /"this network"/],
    ["https://10.0.0.1/", /private address \(10\.0\.0\.0\/8\)/],
    ["https://167772161/", /10\.0\.0\.1 is a private address/],
    ["https://100.64.0.1/", /carrier-grade NAT/],
    ["https://100.100.100.200/", /carrier-grade NAT/],
    ["https://100.127.255.255/", /carrier-grade NAT/],
    ["https://169.254.169.254/latest/meta-data/", /cloud metadata address/],
    ["https://0xa9fea9fe/", /169\.254\.169\.254 is a cloud metadata address/],
    ["https://2852039166/", /169\.254\.169\.254 is a cloud metadata address/],
    ["https://169.254.0.23/", /link-local/],
    ["https://172.16.0.1/", /private address \(172\.16\.0\.0\/12\)/],
    ["https://172.31.255.255/", /private address \(172\.16\.0\.0\/12\)/],
    ["https://192.168.1.1/", /private address \(192\.168\.0\.0\/16\)/],
    ["https://0xc0a80101/", /192\.168\.1\.1 is a private address/],
    ["https://192.0.0.8/", /IETF protocol/],
    ["https://192.0.2.10/", /documentation/],
    ["https://198.18.0.1/", /benchmarking/],
    ["https://198.19.255.255/", /benchmarking/],
    ["https://224.0.0.1/", /multicast/],
    ["https://239.255.255.250/", /multicast/],
    ["https://240.0.0.1/", /reserved/],
    ["https://255.255.255.255/", /broadcast/],
    // IPv6
    ["https://[::1]/", /loopback address \(::1\)/],
    ["https://[0:0:0:0:0:0:0:1]/", /loopback address \(::1\)/],
    ["https://[::]/", /unspecified/],
    ["https://[::ffff:127.0.0.1]/", /IPv4-mapped form of 127\.0\.0\.1 is a loopback/],
    ["https://[::ffff:7f00:1]/", /IPv4-mapped form of 127\.0\.0\.1/],
    ["https://[0:0:0:0:0:ffff:7f00:1]/", /IPv4-mapped form of 127\.0\.0\.1/],
    ["https://[::ffff:a9fe:a9fe]/", /IPv4-mapped form of 169\.254\.169\.254/],
    ["https://[::ffff:10.1.2.3]/", /IPv4-mapped form of 10\.1\.2\.3/],
    ["https://[::ffff:0:c0a8:101]/", /IPv4-translated form of 192\.168\.1\.1/],
    ["https://[::127.0.0.1]/", /IPv4-compatible form of 127\.0\.0\.1/],
    ["https://[64:ff9b::7f00:1]/", /NAT64 form of 127\.0\.0\.1/],
    ["https://[64:ff9b::10.0.0.1]/", /NAT64 form of 10\.0\.0\.1/],
    ["https://[64:ff9b:1::1]/", /local-use NAT64/],
    ["https://[2002:7f00:1::1]/", /6to4 form of 127\.0\.0\.1/],
    ["https://[2002:c0a8:101::]/", /6to4 form of 192\.168\.1\.1/],
    ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", /Teredo/],
    ["https://[fe80::1]/", /link-local address \(fe80::\/10\)/],
    ["https://[febf::1]/", /link-local/],
    ["https://[fc00::1]/", /unique local address/],
    ["https://[fd12:3456:789a::1]/", /unique local address/],
    ["https://[fec0::1]/", /site-local/],
    ["https://[ff02::1]/", /multicast/],
    ["https://[2001:db8::1]/", /documentation/],
    ["https://[100::1]/", /discard-only/],
  ])("refuses %s", (url, reason) => {
    const reasons = reasonsFor(url);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(reason);
  });

  it("names every reason when a URL breaks several rules", () => {
    expect(reasonsFor("http://user:pw@127.0.0.1/")).toEqual([
      "must use https",
      "must not contain a user name or password",
      "127.0.0.1 is a loopback address (127.0.0.0/8)",
    ]);
  });

  it("refuses URLs longer than 2048 characters", () => {
    expect(reasonsFor(`https://example.com/${"a".repeat(2048)}`)).toEqual([
      "must be at most 2048 characters",
    ]);
  });

  it("refuses IPv6 zone ids (the URL parser does too)", () => {
    expect(reasonsFor("https://[fe80::1%25eth0]/")).toEqual(["is not an absolute URL"]);
  });

  describe("with the development setting WEBHOOK_ALLOW_LOCAL_HTTP", () => {
    it.each([
      "http://127.0.0.1:8080/hooks",
      "http://127.0.0.1/hooks",
      "https://127.0.0.1:8443/hooks",
      "http://2130706433:9000/",
    ])("accepts %s", (url) => {
      expect(reasonsFor(url, DEVELOPMENT)).toEqual([]);
    });

    it.each([
      ["http://localhost:8080/", /http only for 127\.0\.0\.1/],
      ["http://127.0.0.2:8080/", /http only for 127\.0\.0\.1/],
      ["http://example.com/", /http only for 127\.0\.0\.1/],
      ["https://10.0.0.1/", /private address/],
      ["https://[::1]:8080/", /loopback/],
      ["http://user:pw@127.0.0.1:8080/", /user name or password/],
    ])("still refuses %s", (url, reason) => {
      expect(reasonsFor(url, DEVELOPMENT).join("; ")).toMatch(reason);
    });

    it("refuses 127.0.0.1 without it", () => {
      expect(reasonsFor("http://127.0.0.1:8080/")).toEqual([
        "must use https",
        "127.0.0.1 is a loopback address (127.0.0.0/8)",
      ]);
    });
  });
});

describe("host parsing (in case the URL parser ever leaves a host as written)", () => {
  it.each([
    ["127.0.0.1", 0x7f000001],
    ["2130706433", 0x7f000001],
    ["0x7f000001", 0x7f000001],
    ["0177.0.0.1", 0x7f000001],
    ["127.1", 0x7f000001],
    ["0x7f.1", 0x7f000001],
    ["10.0x10.1", 0x0a100001],
    ["0", 0],
    ["0x", 0],
  ])("reads IPv4 %s as WHATWG does", (host, value) => {
    expect(parseIPv4(host)).toBe(value);
  });

  it.each(["256.0.0.1", "1.2.3.4.5", "08.0.0.1", "1.2.3.0x100", "127.16777216"])(
    "finds %s an invalid IPv4 address",
    (host) => {
      expect(parseIPv4(host)).toBeUndefined();
    },
  );

  it.each(["example.com", "1.2.3.example", "localhost"])("finds %s a name", (host) => {
    expect(parseIPv4(host)).toBeNull();
  });

  it.each([
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["::ffff:127.0.0.1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ["64:ff9b::10.0.0.1", [0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1]],
    ["2001:db8::", [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]],
    ["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
  ])("reads IPv6 %s", (text, groups) => {
    expect(parseIPv6(text)).toEqual(groups);
  });

  it.each(["1:2:3:4:5:6:7", "1::2::3", "12345::", "fe80::1%eth0", "::ffff:300.0.0.1"])(
    "finds %s invalid",
    (text) => {
      expect(parseIPv6(text)).toBeNull();
    },
  );
});
