/**
 * What the local WeChat sandbox answers with: WeChat's JSON shapes, and its errcodes with the
 * errmsg WeChat gives for each (its "全局返回码" page), for the WeChatSandbox object and its routes;
 * and what the sandbox tells of the messages it took (the template jobs whose results it pushes,
 * the messages its followers received).
 */

/** WeChat's JSON answer; it crosses the Durable Object boundary as its text. */
export type WeChatAnswer = Record<string, unknown>;

export const OK: WeChatAnswer = { errcode: 0, errmsg: "ok" };

const ERRMSG: Readonly<Record<number, string>> = {
  10003: "redirect_uri domain mismatch",
  10004: "invalid response_type",
  10005: "insecure scope",
  40001: "invalid credential, access_token is invalid or not latest",
  40002: "invalid grant_type",
  40003: "invalid openid",
  40004: "invalid media type",
  40006: "invalid meida size",
  40007: "invalid media_id",
  40008: "invalid message type",
  40013: "invalid appid",
  40016: "invalid button size",
  40029: "invalid code",
  40032: "invalid openid list size",
  40037: "invalid template_id",
  40053: "invalid action info",
  40125: "invalid appsecret",
  40163: "code been used",
  40130: "invalid openid list size, at least two openid",
  41001: "access_token missing",
  41005: "media data missing",
  42001: "access_token expired",
  43004: "require subscribe",
  44002: "empty post data",
  43101: "user refuse to accept the msg",
  45015: "response out of time limit or subscription is canceled",
  45028: "has no masssend quota",
  45026: "template num exceeds limit",
  45056: "too many tags",
  45057: "can't delete the tag that has too many fans",
  45058: "can't modify sys tag",
  45157: "invalid tag name",
  45158: "tag name too long",
  45159: "invalid tag id",
  46003: "menu no exist",
  40097: "invalid args",
  47001: "data format error",
  48001: "api unauthorized",
  65303: "there is no selfmenu, please create selfmenu first",
  65304: "match rule empty",
};

/** WeChat's error answer for `errcode`; the rid WeChat appends to errmsg is left out. */
export function wechatRefusal(errcode: number): WeChatAnswer {
  return { errcode, errmsg: ERRMSG[errcode] ?? "system error" };
}

export interface TemplateJob {
  openid: string;
  msgId: number;
  /** What WeChat's TEMPLATESENDJOBFINISH event will say: `success` or `failed:…`. */
  status: string;
}

/** A mass send the sandbox took: WeChat's MASSSENDJOBFINISH counts, pushed moments later. */
export interface MassJob {
  msgId: number;
  total: number;
  filtered: number;
  sent: number;
  errors: number;
}

export interface ReceivedMessage {
  kind: "template" | "customer_service" | "mass" | "mass_preview" | "subscribe_notice";
  msgId: string | null;
  openid: string;
  /** The message's JSON as sent to WeChat, but `touser`. */
  content: string;
  receivedAt: number;
}
