/**
 * Tencent's published worked example for TC3-HMAC-SHA256: the page "签名方法 v3" / "Signature v3"
 * that every Tencent Cloud product repeats (cloud.tencent.com/document/api/362/4208,
 * tencentcloud.com/document/api/614/42761, ...). It signs CVM DescribeInstances in ap-guangzhou at
 * X-TC-Timestamp 1551113065 with the body
 * {"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}.
 * The page has had three editions, each with its own published hashes and signature; the demo
 * credentials, masked or not, are the key bytes as printed, so every step is reproducible.
 */
import { describe, expect, it } from "vitest";
import { signTc3Request } from "../../src/channels/sms/tencent-signature";

// The escapes stay literal: the example signs the JSON as it goes on the wire.
const PAYLOAD = String.raw`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`;
const HASHED_PAYLOAD = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064";
const TIMESTAMP = 1551113065;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("TC3-HMAC-SHA256", () => {
  it("reproduces the published example that signs content-type and host", async () => {
    const signed = await signTc3Request({
      secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
      secretKey: "Gu5t9xGARNpq86cd98joQYCN3*******",
      service: "cvm",
      timestamp: TIMESTAMP,
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        Host: "cvm.tencentcloudapi.com",
      },
      payload: PAYLOAD,
    });

    expect(await sha256Hex(PAYLOAD)).toBe(HASHED_PAYLOAD);
    expect(signed.canonicalRequest).toBe(
      [
        "POST",
        "/",
        "",
        "content-type:application/json; charset=utf-8",
        "host:cvm.tencentcloudapi.com",
        "",
        "content-type;host",
        HASHED_PAYLOAD,
      ].join("\n"),
    );
    expect(await sha256Hex(signed.canonicalRequest)).toBe(
      "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
    );
    // 1551113065 is 2019-02-26 00:44:25 in UTC+8: the scope takes the UTC date.
    expect(signed.stringToSign).toBe(
      [
        "TC3-HMAC-SHA256",
        "1551113065",
        "2019-02-25/cvm/tc3_request",
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
      ].join("\n"),
    );
    expect(signed.signature).toBe(
      "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
    );
    expect(signed.authorization).toBe(
      "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
    );
  });

  it("reproduces the current edition, which also signs x-tc-action, lowercased and sorted", async () => {
    const signed = await signTc3Request({
      secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
      secretKey: "Gu5t9xGARNpq86cd98joQYCN3*******",
      service: "cvm",
      timestamp: TIMESTAMP,
      // Given out of order and in mixed case on purpose.
      headers: {
        "X-TC-Action": "DescribeInstances",
        Host: "cvm.tencentcloudapi.com",
        "Content-Type": "application/json; charset=utf-8",
      },
      payload: PAYLOAD,
    });

    expect(signed.canonicalRequest).toBe(
      [
        "POST",
        "/",
        "",
        "content-type:application/json; charset=utf-8",
        "host:cvm.tencentcloudapi.com",
        "x-tc-action:describeinstances",
        "",
        "content-type;host;x-tc-action",
        HASHED_PAYLOAD,
      ].join("\n"),
    );
    expect(signed.stringToSign.split("\n")[3]).toBe(
      "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84",
    );
    expect(signed.signature).toBe(
      "be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3",
    );
  });

  it("reproduces the English edition, whose key is Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", async () => {
    const signed = await signTc3Request({
      secretId: "AKID**********************0123456789EXAMPLE",
      secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
      service: "cvm",
      timestamp: TIMESTAMP,
      headers: {
        "content-type": "application/json; charset=utf-8",
        host: "cvm.tencentcloudapi.com",
      },
      payload: PAYLOAD,
    });

    expect(signed.authorization).toBe(
      "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    );
  });
});
