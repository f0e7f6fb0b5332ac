/** A simulated WeChat server: it signs (and, in safe and compatible mode, encrypts) like WeChat. */
import { decryptMessage, encryptMessage } from "../../src/channels/wechat/crypto";
import { messageSignature, wechatSignature } from "../../src/channels/wechat/signature";
import { parseWeChatXml } from "../../src/channels/wechat/xml";
import { call, postJson, type TestTenant } from "./tenants";

export const TOKEN = "QDG6eK";
export const AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
export type Mode = "plaintext" | "compatible" | "safe";
/** A news reply nests its articles. */
const REPLY_CONTAINERS = new Set(["Articles", "item"]);

export function newAppId(): string {
  return `wx${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

export async function wechatApp(
  tenant: TestTenant,
  mode: Mode,
  appId = newAppId(),
): Promise<string> {
  const res = await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: "0123456789abcdef0123456789abcdef",
      token: TOKEN,
      encoding_aes_key: AES_KEY,
      mode,
    }),
  );
  if (res.status !== 201) {
    throw new Error(`app not created: ${res.status} ${await res.text()}`);
  }
  return appId;
}

export function textMessage(content: string, msgId: string, from = "oUser1"): string {
  return `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content}]]></Content><MsgId>${msgId}</MsgId></xml>`;
}

export function eventMessage(
  event: string,
  eventKey = "",
  from = "oUser1",
  createTime = 1700000001,
): string {
  return `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName><CreateTime>${createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[${event}]]></Event><EventKey><![CDATA[${eventKey}]]></EventKey></xml>`;
}

export interface Delivery {
  mode: Mode;
  /** For tests of refusals: sign with another token, at another time, with another app id. */
  token?: string;
  timestampSeconds?: number;
  encryptForAppId?: string;
}

/** POSTs `xml` to the webhook as WeChat would in `mode`; returns the response. */
export async function deliver(appId: string, xml: string, options: Delivery): Promise<Response> {
  const timestamp = String(options.timestampSeconds ?? Math.floor(Date.now() / 1000));
  const nonce = String(Math.floor(Math.random() * 1e9));
  const token = options.token ?? TOKEN;
  const query = new URLSearchParams({
    signature: await wechatSignature(token, timestamp, nonce),
    timestamp,
    nonce,
    openid: "oUser1",
  });
  let body = xml;
  if (options.mode !== "plaintext") {
    const sealed = await encryptMessage(AES_KEY, options.encryptForAppId ?? appId, xml);
    if (!sealed.ok) {
      throw new Error(sealed.error.detail);
    }
    query.set("encrypt_type", "aes");
    query.set("msg_signature", await messageSignature(token, timestamp, nonce, sealed.encrypt));
    body = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[${sealed.encrypt}]]></Encrypt></xml>`;
  }
  return call(`/wechat/${appId}?${query}`, null, {
    method: "POST",
    body,
    headers: { "content-type": "text/xml" },
  });
}

/** The reply's fields, decrypting an encrypted reply as WeChat would. */
export async function replyFields(res: Response, appId: string): Promise<Record<string, string>> {
  const parsed = parseWeChatXml(await res.text(), { containers: REPLY_CONTAINERS });
  if (!parsed.ok) {
    throw new Error(parsed.error.detail);
  }
  const encrypt = parsed.fields.Encrypt;
  if (!encrypt) {
    return parsed.fields;
  }
  const opened = await decryptMessage(AES_KEY, encrypt, appId);
  if (!opened.ok) {
    throw new Error(opened.error.detail);
  }
  const inner = parseWeChatXml(opened.xml, { containers: REPLY_CONTAINERS });
  if (!inner.ok) {
    throw new Error(inner.error.detail);
  }
  return inner.fields;
}
