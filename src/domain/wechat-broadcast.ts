/**
 * WeChat's rules for mass sends (群发), from its "群发接口和原创校验" page: who may send to whom, the
 * quota per account type, the chunks a send by openids goes in, and the bodies of `sendall`,
 * `send` and `preview`.
 *
 * - Only verified (认证) accounts may mass-send through the API; a send by openid list only a
 *   verified service account.
 * - A verified subscription account: one mass send a day. A verified service account: four a
 *   calendar month (WeChat's 100 calls a day do not matter: each follower takes at most four a
 *   month, so a fifth would reach nobody who had the first four). Days and months are China's
 *   (UTC+8), as WeChat counts them.
 * - `send` takes 2 to 10,000 openids per call.
 */

export type AccountType = "subscription" | "service";

export const BROADCAST_TYPES = ["text", "image", "voice", "mpvideo", "mpnews", "template"] as const;
export type BroadcastType = (typeof BROADCAST_TYPES)[number];
/** The types WeChat mass-sends itself; a template broadcast is our fan-out instead. */
export type MassType = Exclude<BroadcastType, "template">;

export type BroadcastTarget =
  | { kind: "all" }
  | { kind: "tag"; tag_id: number }
  | { kind: "openids"; openids: string[] };

/** What WeChat mass-sends: text, or a WeChat media id (already resolved from ours). */
export type MassContent =
  | { type: "text"; text: string }
  | { type: Exclude<MassType, "text">; media_ids: string[] };

/** A template message's content, as `/cgi-bin/message/template/send` takes it. */
export interface TemplateContent {
  wechat_template_id: string;
  data: Record<string, { value: string; color?: string }>;
  url?: string;
  miniprogram?: { appid: string; pagepath?: string };
}

export type BroadcastContent = MassContent | { type: "template"; template: TemplateContent };

/**
 * WeChat has no mass send for template messages: a template broadcast sends one per follower,
 * listed a page of WeChat's (10,000, user/get and user/tag/get) at a time and sent in chunks of
 * FANOUT_CHUNK per queue message: each template message is a WeChat call and a token-authority
 * call, so a chunk stays about 200 subrequests, well inside a Worker's 1,000.
 */
export const FOLLOWER_PAGE = 10_000;
export const FANOUT_CHUNK = 100;
export const CHUNKS_PER_PAGE = FOLLOWER_PAGE / FANOUT_CHUNK;

/** `/cgi-bin/message/template/send`'s body for one follower of a template broadcast. */
export function templateMessageBody(
  openid: string,
  template: TemplateContent,
  clientMsgId?: string,
): Record<string, unknown> {
  return {
    touser: openid,
    template_id: template.wechat_template_id,
    data: template.data,
    ...(template.url ? { url: template.url } : {}),
    ...(template.miniprogram ? { miniprogram: template.miniprogram } : {}),
    // WeChat sends one message per openid and client_msg_id (for a while): a retry's guard.
    ...(clientMsgId ? { client_msg_id: clientMsgId } : {}),
  };
}

/** The text a template message shows (its data's values), screened as an SMS is. */
export function templateText(template: TemplateContent): string {
  return Object.values(template.data)
    .map((field) => field.value)
    .join("\n");
}

export const MIN_OPENIDS = 2;
export const MAX_OPENIDS_PER_SEND = 10_000;
/** A broadcast by openids takes at most this many (ten of WeChat's calls). */
export const MAX_OPENIDS = 100_000;
/** WeChat's limit on a text mass message. */
export const MAX_TEXT_CHARS = 2_000;
/** An image mass send carries up to 8 images. */
export const MAX_IMAGES = 8;

const CHINA_OFFSET_MS = 8 * 60 * 60_000;

export interface Quota {
  period: "day" | "month";
  limit: number;
  /** The period's key (`2026-12-07` or `2026-12`), China time. */
  key: string;
  /** When the next period starts (Unix ms). */
  resetsAt: number;
}

export function quotaOf(type: AccountType, now: number): Quota {
  const china = new Date(now + CHINA_OFFSET_MS);
  const y = china.getUTCFullYear();
  const m = china.getUTCMonth();
  const d = china.getUTCDate();
  const pad = (n: number) => String(n).padStart(2, "0");
  if (type === "subscription") {
    return {
      period: "day",
      limit: 1,
      key: `${y}-${pad(m + 1)}-${pad(d)}`,
      resetsAt: Date.UTC(y, m, d + 1) - CHINA_OFFSET_MS,
    };
  }
  return {
    period: "month",
    limit: 4,
    key: `${y}-${pad(m + 1)}`,
    resetsAt: Date.UTC(y, m + 1, 1) - CHINA_OFFSET_MS,
  };
}

/** Why this account may not send to `target`, or null. */
export function refusalOf(
  account: { type: AccountType; verified: boolean },
  target: BroadcastTarget,
  type: BroadcastType = "text",
): string | null {
  if (!account.verified) {
    return "WeChat lets only verified (认证) accounts mass-send through the API: set the app's `verified` once WeChat has verified it.";
  }
  if (type === "template" && account.type !== "service") {
    return "WeChat's template messages are for service accounts.";
  }
  if (target.kind === "openids" && account.type !== "service") {
    return "WeChat sends to a list of openids only for verified service accounts; a subscription account sends to all followers or a tag.";
  }
  return null;
}

/** Openids split into WeChat's calls: as even as possible, so no call has fewer than 2. */
export function openidChunks(openids: readonly string[]): string[][] {
  const count = Math.ceil(openids.length / MAX_OPENIDS_PER_SEND);
  const chunks: string[][] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.floor((i * openids.length) / count);
    const end = Math.floor(((i + 1) * openids.length) / count);
    chunks.push(openids.slice(start, end));
  }
  return chunks;
}

/** The message part of a mass body (`msgtype` and its field), for sendall and send. */
export function massMessage(content: MassContent): Record<string, unknown> {
  switch (content.type) {
    case "text":
      return { text: { content: content.text }, msgtype: "text" };
    case "image":
      return { images: { media_ids: content.media_ids }, msgtype: "image" };
    case "mpnews":
      // 0: stop when WeChat finds the article is a reprint; the tenant re-sends deliberately.
      return {
        mpnews: { media_id: content.media_ids[0] },
        msgtype: "mpnews",
        send_ignore_reprint: 0,
      };
    default:
      return {
        [content.type]: { media_id: content.media_ids[0] },
        msgtype: content.type,
      };
  }
}

/** `/cgi-bin/message/mass/sendall`'s body. */
export function sendAllBody(
  target: Extract<BroadcastTarget, { kind: "all" | "tag" }>,
  content: MassContent,
  clientMsgId: string,
): Record<string, unknown> {
  const filter =
    target.kind === "all" ? { is_to_all: true } : { is_to_all: false, tag_id: target.tag_id };
  return { filter, ...massMessage(content), clientmsgid: clientMsgId };
}

/** `/cgi-bin/message/mass/send`'s body for one chunk. */
export function sendBody(
  openids: readonly string[],
  content: MassContent,
  clientMsgId: string,
): Record<string, unknown> {
  return { touser: openids, ...massMessage(content), clientmsgid: clientMsgId };
}

/** `/cgi-bin/message/mass/preview`'s body: one image (the first), as a single message. */
export function previewBody(openid: string, content: MassContent): Record<string, unknown> {
  if (content.type === "text") {
    return { touser: openid, text: { content: content.text }, msgtype: "text" };
  }
  return {
    touser: openid,
    [content.type]: { media_id: content.media_ids[0] },
    msgtype: content.type,
  };
}

/** WeChat lets a sent mass message be deleted only when it is news or a video. */
export function cancellableAtWeChat(type: BroadcastType): boolean {
  return type === "mpnews" || type === "mpvideo";
}
