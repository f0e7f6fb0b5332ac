/**
 * Against the examples WeChat publishes with their inputs and outputs:
 * - the Mini Program "消息推送" page (developers.weixin.qq.com/miniprogram/dev/framework/
 *   server-ability/message-push.html), Token "AAAAA": a URL verification, a plaintext push, a
 *   safe-mode push and an encrypted reply;
 * - WeCom's "加解密方案说明" (developer.work.weixin.qq.com/document/path/90968) and the
 *   WXBizMsgCrypt samples shipped with it: token "QDG6eK", a callback and a URL verification.
 */
import { describe, expect, it } from "vitest";
import {
  isFresh,
  messageSignature,
  verifyMessageSignature,
  verifyWeChatSignature,
  wechatSignature,
} from "../../../src/channels/wechat/signature";

const SAFE_MODE_ENCRYPT =
  "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=";
const REPLY_ENCRYPT =
  "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==";
const WECOM_ENCRYPT =
  "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
const WECOM_ECHOSTR =
  "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";

describe("wechatSignature", () => {
  it("gives the signature of the message-push page's URL verification", async () => {
    expect(await wechatSignature("AAAAA", "1714036504", "1514711492")).toBe(
      "f464b24fc39322e44b38aa78f5edd27bd1441696",
    );
  });

  it("gives the signature of the message-push page's plaintext push", async () => {
    expect(await wechatSignature("AAAAA", "1714037059", "486452656")).toBe(
      "899cf89e464efb63f54ddac96b0a0a235f53aa78",
    );
  });

  it("gives the signature on the URL of the message-push page's safe-mode push", async () => {
    expect(await wechatSignature("AAAAA", "1714112445", "415670741")).toBe(
      "6c5c811b55cc85e0e1b54100749188c20beb3f5d",
    );
  });

  it("sorts before hashing, so the order of the arguments does not matter to WeChat's value", async () => {
    // "1514711492" < "1714036504" < "AAAAA": passing them in another order must not change it.
    expect(await wechatSignature("AAAAA", "1514711492", "1714036504")).toBe(
      "f464b24fc39322e44b38aa78f5edd27bd1441696",
    );
  });
});

describe("messageSignature", () => {
  it("gives the msg_signature of the message-push page's safe-mode push", async () => {
    expect(await messageSignature("AAAAA", "1714112445", "415670741", SAFE_MODE_ENCRYPT)).toBe(
      "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
    );
  });

  it("gives the MsgSignature of the message-push page's encrypted reply", async () => {
    expect(await messageSignature("AAAAA", "1713424427", "415670741", REPLY_ENCRYPT)).toBe(
      "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
    );
  });

  it("gives the msg_signature of WeCom's published callback and URL verification", async () => {
    expect(await messageSignature("QDG6eK", "1409659813", "1372623149", WECOM_ENCRYPT)).toBe(
      "477715d11cdb4164915debcba66cb864d751f3e6",
    );
    expect(await messageSignature("QDG6eK", "1409659589", "263014780", WECOM_ECHOSTR)).toBe(
      "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    );
  });
});

describe("verifyWeChatSignature", () => {
  const signature = "f464b24fc39322e44b38aa78f5edd27bd1441696";

  it("accepts the published signature", async () => {
    expect(await verifyWeChatSignature("AAAAA", "1714036504", "1514711492", signature)).toBe(true);
  });

  it("refuses it under another token, timestamp or nonce", async () => {
    expect(await verifyWeChatSignature("AAAAB", "1714036504", "1514711492", signature)).toBe(false);
    expect(await verifyWeChatSignature("AAAAA", "1714036505", "1514711492", signature)).toBe(false);
    expect(await verifyWeChatSignature("AAAAA", "1714036504", "1514711493", signature)).toBe(false);
  });

  it("refuses a signature with one character changed, upper-cased, cut short or empty", async () => {
    const verify = (candidate: string) =>
      verifyWeChatSignature("AAAAA", "1714036504", "1514711492", candidate);
    expect(await verify(`${signature.slice(0, -1)}7`)).toBe(false);
    expect(await verify(signature.toUpperCase())).toBe(false);
    expect(await verify(signature.slice(0, 39))).toBe(false);
    expect(await verify("")).toBe(false);
  });
});

describe("verifyMessageSignature", () => {
  const msgSignature = "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3";

  it("accepts the safe-mode push's msg_signature", async () => {
    expect(
      await verifyMessageSignature(
        "AAAAA",
        "1714112445",
        "415670741",
        SAFE_MODE_ENCRYPT,
        msgSignature,
      ),
    ).toBe(true);
  });

  it("refuses it once a single character of Encrypt is changed", async () => {
    const tampered = `A${SAFE_MODE_ENCRYPT.slice(1)}`;
    expect(
      await verifyMessageSignature("AAAAA", "1714112445", "415670741", tampered, msgSignature),
    ).toBe(false);
  });

  it("refuses the plain signature of the same push in place of msg_signature", async () => {
    // The page warns "不要使用signature验证": that one (above) leaves the body out, and a check that
    // forgot Encrypt would accept it here.
    expect(
      await verifyMessageSignature(
        "AAAAA",
        "1714112445",
        "415670741",
        SAFE_MODE_ENCRYPT,
        "6c5c811b55cc85e0e1b54100749188c20beb3f5d",
      ),
    ).toBe(false);
  });
});

describe("isFresh", () => {
  const timestamp = "1714112445";
  const sent = 1714112445 * 1000;

  it("accepts the safe-mode push at the clock it was sent and refuses it today", () => {
    expect(isFresh(timestamp, sent + 2_000)).toBe(true);
    expect(isFresh(timestamp, Date.UTC(2026, 0, 1))).toBe(false);
  });

  it("accepts exactly 300 s either way and refuses a millisecond more", () => {
    expect(isFresh(timestamp, sent + 300_000)).toBe(true);
    expect(isFresh(timestamp, sent + 300_001)).toBe(false);
    expect(isFresh(timestamp, sent - 300_000)).toBe(true);
    expect(isFresh(timestamp, sent - 300_001)).toBe(false);
  });

  it("takes another tolerance when given one", () => {
    expect(isFresh(timestamp, sent + 60_000, 60)).toBe(true);
    expect(isFresh(timestamp, sent + 60_001, 60)).toBe(false);
  });

  it("refuses timestamps that are not plain Unix seconds", () => {
    for (const bad of ["", " 1714112445", "1714112445.0", "1.714e9", "-1714112445", "0x66299"]) {
      expect(isFresh(bad, sent), bad).toBe(false);
    }
    // Milliseconds instead of seconds: 13 digits.
    expect(isFresh(String(sent), sent)).toBe(false);
  });
});
