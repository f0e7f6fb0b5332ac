/**
 * Against the published encryption examples: the Mini Program "消息推送" page's safe-mode push and
 * encrypted reply (EncodingAESKey of 43 "A", appid wxba5fad812f8e6fb9, random "707722b803182950"
 * for the reply), and WeCom's "加解密方案说明" callback and URL verification with the WXBizMsgCrypt
 * samples' key (token "QDG6eK", EncodingAESKey "jWmYm7…B2C", id wx5823bf96d3bd56c7). Between
 * them their padding is 1, 7, 19 and 30 bytes: three of the four are beyond WebCrypto's 16.
 */
import { describe, expect, it } from "vitest";
import {
  decryptMessage,
  encryptMessage,
  encryptReply,
  isEncodingAesKey,
} from "../../../src/channels/wechat/crypto";
import { isFresh, verifyMessageSignature } from "../../../src/channels/wechat/signature";
import { parseWeChatXml } from "../../../src/channels/wechat/xml";

const MINI_KEY = "A".repeat(43);
const MINI_APP_ID = "wxba5fad812f8e6fb9";
const SAFE_MODE_ENCRYPT =
  "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=";
const SAFE_MODE_MESSAGE =
  '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}';
const REPLY_ENCRYPT =
  "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==";

const WECOM_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const WECOM_ID = "wx5823bf96d3bd56c7";
const WECOM_ENCRYPT =
  "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
const WECOM_ECHOSTR =
  "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";

const ascii = (text: string) => new TextEncoder().encode(text);

function bytesOf(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

function base64Of(bytes: Uint8Array): string {
  return btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""));
}

function flipped(base64: string, index: number): string {
  const bytes = bytesOf(base64);
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return base64Of(bytes);
}

/**
 * An independent writer for plaintexts encryptMessage would never produce (bad UTF-8): pad to 32
 * by hand, encrypt with WebCrypto, keep only the blocks of the padded plaintext.
 */
async function sealRaw(encodingAesKey: string, plaintext: Uint8Array): Promise<string> {
  const raw = bytesOf(`${encodingAesKey}=`);
  const key = await crypto.subtle.importKey("raw", raw, "AES-CBC", false, ["encrypt"]);
  const pad = 32 - (plaintext.length % 32);
  const padded = new Uint8Array(plaintext.length + pad).fill(pad);
  padded.set(plaintext);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-CBC", iv: raw.slice(0, 16) },
    key,
    padded,
  );
  return base64Of(new Uint8Array(sealed).slice(0, padded.length));
}

function framed(message: Uint8Array, appId: string): Uint8Array {
  const app = ascii(appId);
  const out = new Uint8Array(20 + message.length + app.length);
  out.set(ascii("0123456789abcdef"));
  new DataView(out.buffer).setUint32(16, message.length);
  out.set(message, 20);
  out.set(app, 20 + message.length);
  return out;
}

describe("decryptMessage", () => {
  it("decrypts the message-push page's safe-mode push, padded with 19 bytes", async () => {
    expect(await decryptMessage(MINI_KEY, SAFE_MODE_ENCRYPT, MINI_APP_ID)).toEqual({
      ok: true,
      xml: SAFE_MODE_MESSAGE,
    });
  });

  it("takes the published push through freshness, msg_signature and decryption at its own clock", async () => {
    const now = 1714112445 * 1000 + 1_500;
    expect(isFresh("1714112445", now)).toBe(true);
    expect(
      await verifyMessageSignature(
        "AAAAA",
        "1714112445",
        "415670741",
        SAFE_MODE_ENCRYPT,
        "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
      ),
    ).toBe(true);
    const decrypted = await decryptMessage(MINI_KEY, SAFE_MODE_ENCRYPT, MINI_APP_ID);
    expect(decrypted.ok && JSON.parse(decrypted.xml)).toMatchObject({
      Event: "debug_demo",
      debug_str: "hello world",
    });
  });

  it("decrypts WeCom's published callback, padded with 30 bytes, to the documented message", async () => {
    const decrypted = await decryptMessage(WECOM_KEY, WECOM_ENCRYPT, WECOM_ID);
    if (!decrypted.ok) {
      throw new Error(decrypted.error.detail);
    }
    expect(parseWeChatXml(decrypted.xml)).toEqual({
      ok: true,
      fields: {
        ToUserName: "wx5823bf96d3bd56c7",
        FromUserName: "mycreate",
        CreateTime: "1409659813",
        MsgType: "text",
        Content: "hello",
        MsgId: "4561255354251345929",
        AgentID: "218",
      },
    });
  });

  it("decrypts WeCom's published URL-verification echostr, padded with 7 bytes", async () => {
    expect(await decryptMessage(WECOM_KEY, WECOM_ECHOSTR, WECOM_ID)).toEqual({
      ok: true,
      xml: "1616140317555161061",
    });
  });

  it("refuses a message whose trailing app id is another account's", async () => {
    const result = await decryptMessage(MINI_KEY, SAFE_MODE_ENCRYPT, "wx0000000000000000");
    expect(result.ok || result.error).toMatchObject({ code: "app-id-mismatch", retryable: false });
  });

  it("refuses a ciphertext whose last padding byte was flipped", async () => {
    // In CBC a flip in one block flips the same byte of the next block's plaintext: the last
    // byte of the second-to-last block is the last byte of the padding.
    const bytes = bytesOf(SAFE_MODE_ENCRYPT);
    const result = await decryptMessage(
      MINI_KEY,
      flipped(SAFE_MODE_ENCRYPT, bytes.length - 17),
      MINI_APP_ID,
    );
    expect(result.ok || result.error.code).toBe("bad-padding");
  });

  it("refuses a ciphertext whose length field was flipped to point past the end", async () => {
    // The first byte of the second block is the length's high byte: 0 becomes 1, i.e. 16 MiB.
    const result = await decryptMessage(MINI_KEY, flipped(SAFE_MODE_ENCRYPT, 0), MINI_APP_ID);
    expect(result.ok || result.error.code).toBe("bad-length-field");
  });

  it("refuses a ciphertext decrypted with another well-formed key", async () => {
    const result = await decryptMessage("B".repeat(43), SAFE_MODE_ENCRYPT, MINI_APP_ID);
    expect(result.ok).toBe(false);
  });

  it("refuses a message that is not UTF-8", async () => {
    const sealed = await sealRaw(MINI_KEY, framed(new Uint8Array([0x3c, 0xff, 0x3e]), MINI_APP_ID));
    const result = await decryptMessage(MINI_KEY, sealed, MINI_APP_ID);
    expect(result.ok || result.error.code).toBe("bad-encoding");
  });

  it("reads a message sealed by an independent writer", async () => {
    const sealed = await sealRaw(MINI_KEY, framed(ascii("<xml/>"), MINI_APP_ID));
    expect(await decryptMessage(MINI_KEY, sealed, MINI_APP_ID)).toEqual({
      ok: true,
      xml: "<xml/>",
    });
  });

  it("refuses Encrypt values that are not base64 of whole AES blocks", async () => {
    for (const bad of [
      "",
      "not base64!",
      SAFE_MODE_ENCRYPT.slice(0, -4),
      `${SAFE_MODE_ENCRYPT}\n`,
    ]) {
      const result = await decryptMessage(MINI_KEY, bad, MINI_APP_ID);
      expect(result.ok || result.error.code, JSON.stringify(bad)).toBe("bad-ciphertext");
    }
  });

  it("refuses EncodingAESKeys that are not 43 characters of base64", async () => {
    for (const bad of [
      "A".repeat(42),
      "A".repeat(44),
      `${"A".repeat(42)}=`,
      `${"A".repeat(42)}-`,
    ]) {
      const result = await decryptMessage(bad, SAFE_MODE_ENCRYPT, MINI_APP_ID);
      expect(result.ok || result.error.code, bad).toBe("bad-key");
    }
  });
});

describe("encryptMessage", () => {
  it("encrypts the message-push page's reply to its published Encrypt, padded with 1 byte", async () => {
    expect(
      await encryptMessage(
        MINI_KEY,
        MINI_APP_ID,
        '{"demo_resp":"good luck"}',
        ascii("707722b803182950"),
      ),
    ).toEqual({ ok: true, encrypt: REPLY_ENCRYPT });
  });

  it("round-trips every padding length from 1 to 32 bytes", async () => {
    const appId = MINI_APP_ID; // 18 bytes, so the frame is 38 bytes plus the message
    for (let pad = 1; pad <= 32; pad++) {
      // Two message lengths per padding: one short, one a block longer, both multi-byte UTF-8
      // at the start so the length field must count bytes, not characters.
      for (const extra of [0, 32]) {
        const bytes = ((((32 - pad - 38) % 32) + 32) % 32) + 32 + extra;
        const message = `中文${"x".repeat(bytes - 6)}`;
        const sealed = await encryptMessage(MINI_KEY, appId, message);
        if (!sealed.ok) {
          throw new Error(sealed.error.detail);
        }
        expect(bytesOf(sealed.encrypt).length, `pad ${pad}`).toBe(38 + bytes + pad);
        expect(await decryptMessage(MINI_KEY, sealed.encrypt, appId)).toEqual({
          ok: true,
          xml: message,
        });
      }
    }
  });

  it("draws fresh random bytes when none are given", async () => {
    const first = await encryptMessage(MINI_KEY, MINI_APP_ID, "<xml/>");
    const second = await encryptMessage(MINI_KEY, MINI_APP_ID, "<xml/>");
    expect(first.ok && second.ok && first.encrypt !== second.encrypt).toBe(true);
  });

  it("refuses a bad EncodingAESKey and random bytes of the wrong length", async () => {
    const result = await encryptMessage("short", MINI_APP_ID, "<xml/>");
    expect(result.ok || result.error.code).toBe("bad-key");
    await expect(
      encryptMessage(MINI_KEY, MINI_APP_ID, "<xml/>", new Uint8Array(15)),
    ).rejects.toThrow(RangeError);
  });
});

describe("encryptReply", () => {
  it("builds the message-push page's encrypted reply, signature included", async () => {
    const reply = await encryptReply({
      token: "AAAAA",
      encodingAesKey: MINI_KEY,
      appId: MINI_APP_ID,
      xml: '{"demo_resp":"good luck"}',
      timestamp: "1713424427",
      nonce: "415670741",
      random16: ascii("707722b803182950"),
    });
    if (!reply.ok) {
      throw new Error(reply.error.detail);
    }
    expect(parseWeChatXml(reply.body)).toEqual({
      ok: true,
      fields: {
        Encrypt: REPLY_ENCRYPT,
        MsgSignature: "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
        TimeStamp: "1713424427",
        Nonce: "415670741",
      },
    });
  });
});

describe("isEncodingAesKey", () => {
  it("accepts WeChat's sample keys and refuses other lengths and alphabets", () => {
    expect(isEncodingAesKey(WECOM_KEY)).toBe(true);
    expect(isEncodingAesKey(MINI_KEY)).toBe(true);
    expect(isEncodingAesKey(`${WECOM_KEY}=`)).toBe(false);
    expect(isEncodingAesKey(WECOM_KEY.slice(1))).toBe(false);
    expect(isEncodingAesKey(`${WECOM_KEY.slice(1)}_`)).toBe(false);
  });
});
