/** The passive replies we answer WeChat's pushes with, plain or as the envelope of an encrypted one. */
import { isXmlCharacter } from "./xml";

/** "其余场景最多可回复8条图文消息"; replies to a user's message may carry only one (messages.ts). */
export const MAX_NEWS_ARTICLES = 8;

export interface NewsArticle {
  title: string;
  description: string;
  url: string;
  pic_url: string;
}

export type PassiveReply = {
  /** The user's OpenID: the push's FromUserName. */
  toUser: string;
  /** The account's original id (gh_…): the push's ToUserName. */
  fromUser: string;
  /** Unix seconds. */
  createTime: number;
} & ({ type: "text"; content: string } | { type: "news"; articles: readonly NewsArticle[] });

/**
 * The XML of a passive reply, in the layout of WeChat's "被动回复用户消息" page: strings in CDATA,
 * CreateTime and ArticleCount as bare integers. Throws RangeError for a createTime that is not a
 * whole number of seconds or a news reply without 1–8 articles: those are the caller's bugs.
 */
export function buildReplyXml(reply: PassiveReply): string {
  if (!Number.isSafeInteger(reply.createTime) || reply.createTime < 0) {
    throw new RangeError(`createTime must be whole Unix seconds, got ${reply.createTime}`);
  }
  const head =
    element("ToUserName", cdata(reply.toUser)) +
    element("FromUserName", cdata(reply.fromUser)) +
    element("CreateTime", String(reply.createTime)) +
    element("MsgType", cdata(reply.type));
  if (reply.type === "text") {
    return `<xml>${head}${element("Content", cdata(reply.content))}</xml>`;
  }
  const count = reply.articles.length;
  if (count < 1 || count > MAX_NEWS_ARTICLES) {
    throw new RangeError(`a news reply carries 1 to ${MAX_NEWS_ARTICLES} articles, got ${count}`);
  }
  const items = reply.articles
    .map((article) =>
      element(
        "item",
        element("Title", cdata(article.title)) +
          element("Description", cdata(article.description)) +
          element("PicUrl", cdata(article.pic_url)) +
          element("Url", cdata(article.url)),
      ),
    )
    .join("");
  return `<xml>${head}${element("ArticleCount", String(count))}${element("Articles", items)}</xml>`;
}

/**
 * The body of an encrypted reply (safe and compatible mode), in the order of WeChat's example.
 * `timestamp` is the string that was signed; it must be digits.
 */
export function buildEncryptedReplyXml(
  encrypt: string,
  msgSignature: string,
  timestamp: string,
  nonce: string,
): string {
  if (!/^\d+$/.test(timestamp)) {
    throw new RangeError(`timestamp must be digits, got ${JSON.stringify(timestamp)}`);
  }
  return (
    "<xml>" +
    element("Encrypt", cdata(encrypt)) +
    element("MsgSignature", cdata(msgSignature)) +
    element("TimeStamp", timestamp) +
    element("Nonce", cdata(nonce)) +
    "</xml>"
  );
}

export function element(name: string, content: string): string {
  return `<${name}>${content}</${name}>`;
}

/**
 * A CDATA section cannot contain "]]>", so the text is split there into two sections
 * ("]]" ends one, ">" starts the next); readers join adjacent sections back. Characters XML
 * forbids (most C0 controls) cannot be written at all and are dropped: WeChat would refuse the
 * whole reply otherwise.
 */
export function cdata(text: string): string {
  let clean = "";
  for (const char of text) {
    if (isXmlCharacter(char.codePointAt(0) ?? -1)) {
      clean += char;
    }
  }
  return `<![CDATA[${clean.replaceAll("]]>", "]]]]><![CDATA[>")}]]>`;
}
