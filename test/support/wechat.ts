/** A simulated WeChat server: it signs (and, in safe and compatible mode, encrypts) like WeChat. */
import { env } from "cloudflare:test";
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
  /** A fixed nonce, to sign two deliveries alike (WeChat draws a new one for each push). */
  nonce?: string;
  encryptForAppId?: string;
  /**
   * For tests of tampering (safe and compatible mode): the body carries this XML's ciphertext
   * while `msg_signature` stays the one over the original's, as a forger without the token would
   * have to send; or `msg_signature` is replaced outright.
   */
  substituteXml?: string;
  msgSignature?: string;
}

/** A delivery as WeChat would send it: the webhook's path with its signed query, and the body. */
export interface SignedDelivery {
  path: string;
  query: URLSearchParams;
  body: string;
}

/** Signs (and in safe and compatible mode encrypts) `xml` as WeChat would in `mode`. */
export async function signDelivery(
  appId: string,
  xml: string,
  options: Delivery,
): Promise<SignedDelivery> {
  const timestamp = String(options.timestampSeconds ?? Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? String(Math.floor(Math.random() * 1e9));
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
    query.set(
      "msg_signature",
      options.msgSignature ?? (await messageSignature(token, timestamp, nonce, sealed.encrypt)),
    );
    let encrypt = sealed.encrypt;
    if (options.substituteXml !== undefined) {
      const substitute = await encryptMessage(AES_KEY, appId, options.substituteXml);
      if (!substitute.ok) {
        throw new Error(substitute.error.detail);
      }
      encrypt = substitute.encrypt;
    }
    body = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`;
  }
  return { path: `/wechat/${appId}`, query, body };
}

/** POSTs a signed delivery to the webhook; returns the response. */
export function post(delivery: SignedDelivery): Promise<Response> {
  return call(`${delivery.path}?${delivery.query}`, null, {
    method: "POST",
    body: delivery.body,
    headers: { "content-type": "text/xml" },
  });
}

/** POSTs `xml` to the webhook as WeChat would in `mode`; returns the response. */
export async function deliver(appId: string, xml: string, options: Delivery): Promise<Response> {
  return post(await signDelivery(appId, xml, options));
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

/**
 * A D1 outage, as the Worker and its Durable Objects see it: until the returned function is called,
 * every statement naming one of `tables` fails. The test, the Worker and its objects run in one
 * isolate and share D1's binding class, so patching its prototype reaches them all.
 */
export function failD1On(tables: readonly string[]): () => void {
  const proto = Object.getPrototypeOf(env.DB) as D1Database;
  const prepare = proto.prepare;
  const named = new RegExp(`\\b(?:${tables.join("|")})\\b`);
  proto.prepare = function (this: D1Database, query: string) {
    if (named.test(query)) {
      throw new Error("D1_ERROR: simulated outage");
    }
    return prepare.call(this, query);
  };
  return () => {
    proto.prepare = prepare;
  };
}

/**
 * A slow D1: until the returned function is called, every `batch()` waits (the Worker reads with
 * single statements; the WeChatAccount copies deliveries to D1 in batches).
 */
export function holdD1Batches(): () => void {
  const proto = Object.getPrototypeOf(env.DB) as D1Database;
  const batch = proto.batch;
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  proto.batch = async function <T>(this: D1Database, statements: D1PreparedStatement[]) {
    await released;
    return batch.call(this, statements) as Promise<D1Result<T>[]>;
  };
  return () => {
    proto.batch = batch;
    release();
  };
}

/** A template message's job-finish event, as WeChat pushes it. */
export function templateJobFinish(
  msgId: string | number,
  status: string,
  to = "oFollower",
): string {
  return `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[${to}]]></FromUserName><CreateTime>1700000300</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>${msgId}</MsgID><Status><![CDATA[${status}]]></Status></xml>`;
}
