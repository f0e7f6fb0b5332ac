/**
 * What the local WeChat sandbox posts to our webhook, made as WeChat makes it: a follower's text
 * message or a template job's result in WeChat's XML, with `signature` (token, timestamp, nonce)
 * on the URL and, for an account in safe or compatible mode, the XML encrypted and signed with
 * `msg_signature`. And the webhook's passive reply, read as WeChat reads it.
 */
import { decryptMessage, encryptMessage } from "./crypto";
import { cdata, element } from "./reply-xml";
import { messageSignature, verifyMessageSignature, wechatSignature } from "./signature";
import { parseWeChatXml } from "./xml";

/** What WeChat knows of an account to sign and encrypt its pushes: its console's settings. */
export interface PushKeys {
  appId: string;
  token: string;
  encodingAesKey: string;
  /** Safe and compatible mode: pushes are encrypted. */
  encrypted: boolean;
}

interface PushHead {
  /** The account's original id (gh_…). */
  account: string;
  openid: string;
  /** Unix seconds. */
  createTime: number;
}

function head(push: PushHead, msgType: string): string {
  return (
    element("ToUserName", cdata(push.account)) +
    element("FromUserName", cdata(push.openid)) +
    element("CreateTime", String(push.createTime)) +
    element("MsgType", cdata(msgType))
  );
}

export function textPushXml(push: PushHead & { text: string; msgId: string }): string {
  return `<xml>${head(push, "text")}${element("Content", cdata(push.text))}${element("MsgId", push.msgId)}</xml>`;
}

/** The TEMPLATESENDJOBFINISH event: `status` is `success` or `failed:user block`, …. */
export function templateResultXml(push: PushHead & { msgId: string; status: string }): string {
  return (
    `<xml>${head(push, "event")}${element("Event", cdata("TEMPLATESENDJOBFINISH"))}` +
    `${element("MsgID", push.msgId)}${element("Status", cdata(push.status))}</xml>`
  );
}

/** The MASSSENDJOBFINISH event of a mass send, with WeChat's counts. */
export function massResultXml(
  push: PushHead & {
    msgId: string;
    total: number;
    filtered: number;
    sent: number;
    errors: number;
  },
): string {
  return (
    `<xml>${head(push, "event")}${element("Event", cdata("MASSSENDJOBFINISH"))}` +
    `${element("MsgID", push.msgId)}${element("Status", cdata("send success"))}` +
    `${element("TotalCount", String(push.total))}${element("FilterCount", String(push.filtered))}` +
    `${element("SentCount", String(push.sent))}${element("ErrorCount", String(push.errors))}</xml>`
  );
}

/**
 * A follower scanned a QR code with a scene: `SCAN` from a follower (EventKey the scene), or
 * `subscribe` from someone who follows by scanning (EventKey `qrscene_` and the scene).
 */
export function scanPushXml(
  push: PushHead & { event: "SCAN" | "subscribe"; scene: string; ticket: string },
): string {
  const key = push.event === "subscribe" ? `qrscene_${push.scene}` : push.scene;
  return (
    `<xml>${head(push, "event")}${element("Event", cdata(push.event))}` +
    `${element("EventKey", cdata(key))}${element("Ticket", cdata(push.ticket))}</xml>`
  );
}

/** The webhook URL's query and the body, for `xml` pushed to the account. */
export async function signedPush(
  xml: string,
  keys: PushKeys,
  push: { openid: string; account: string; timestamp: string; nonce: string },
): Promise<{ query: URLSearchParams; body: string }> {
  const { timestamp, nonce } = push;
  const query = new URLSearchParams({
    signature: await wechatSignature(keys.token, timestamp, nonce),
    timestamp,
    nonce,
    openid: push.openid,
  });
  if (!keys.encrypted) {
    return { query, body: xml };
  }
  const sealed = await encryptMessage(keys.encodingAesKey, keys.appId, xml);
  if (!sealed.ok) {
    throw new Error(`the push cannot be encrypted: ${sealed.error.detail}`);
  }
  query.set("encrypt_type", "aes");
  query.set("msg_signature", await messageSignature(keys.token, timestamp, nonce, sealed.encrypt));
  const body =
    `<xml>${element("ToUserName", cdata(push.account))}` +
    `${element("Encrypt", cdata(sealed.encrypt))}</xml>`;
  return { query, body };
}

export interface ReplyArticle {
  title: string;
  description: string;
  url: string;
  pic_url: string;
}

export type PassiveReplyView =
  | { type: "text"; content: string }
  | { type: "news"; articles: ReplyArticle[] }
  | { type: string };

/** The webhook's answer as a follower would see it: null for `success` (no reply). */
export async function readPassiveReply(
  body: string,
  keys: PushKeys,
): Promise<{ ok: true; reply: PassiveReplyView | null } | { ok: false; detail: string }> {
  if (body === "" || body === "success") {
    return { ok: true, reply: null };
  }
  const outer = parseWeChatXml(body, { containers: REPLY_CONTAINERS });
  if (!outer.ok) {
    return { ok: false, detail: `the reply is not WeChat XML: ${outer.error.detail}` };
  }
  let fields = outer.fields;
  const { Encrypt: encrypt, MsgSignature: signature, TimeStamp: timestamp, Nonce: nonce } = fields;
  if (encrypt !== undefined) {
    const signed =
      signature !== undefined &&
      timestamp !== undefined &&
      nonce !== undefined &&
      (await verifyMessageSignature(keys.token, timestamp, nonce, encrypt, signature));
    if (!signed) {
      return { ok: false, detail: "the encrypted reply's MsgSignature does not verify" };
    }
    const opened = await decryptMessage(keys.encodingAesKey, encrypt, keys.appId);
    if (!opened.ok) {
      return { ok: false, detail: `the reply does not decrypt: ${opened.error.detail}` };
    }
    const inner = parseWeChatXml(opened.xml, { containers: REPLY_CONTAINERS });
    if (!inner.ok) {
      return { ok: false, detail: `the decrypted reply is not WeChat XML: ${inner.error.detail}` };
    }
    fields = inner.fields;
  }
  return { ok: true, reply: replyOf(fields) };
}

/** A news reply nests its articles. */
const REPLY_CONTAINERS: ReadonlySet<string> = new Set(["Articles", "item"]);

function replyOf(fields: Record<string, string>): PassiveReplyView {
  const type = fields.MsgType ?? "";
  if (type === "text") {
    return { type, content: fields.Content ?? "" };
  }
  if (type !== "news") {
    return { type };
  }
  const articles = JSON.parse(fields.Articles ?? "{}") as { item?: Record<string, string>[] };
  return {
    type,
    articles: (articles.item ?? []).map((item) => ({
      title: item.Title ?? "",
      description: item.Description ?? "",
      url: item.Url ?? "",
      pic_url: item.PicUrl ?? "",
    })),
  };
}
