/**
 * Shapes shared by the WeChatAccount's inbound side and the services that read what it records: an
 * inbox row as it crosses the RPC boundary (the D1 `wechat_inbox` columns), and the customer-service
 * windows a follower's interactions open.
 */

/** An inbox row as it crosses the WeChatAccount's RPC boundary (the D1 `wechat_inbox` columns). */
export interface InboxRowValues {
  id: string;
  tenantId: string;
  appId: string;
  dedupKey: string;
  msgType: string;
  event: string | null;
  eventKey: string | null;
  fromUser: string;
  toUser: string;
  createTime: number;
  fields: Record<string, string>;
  /** The passive reply we gave, as its rule's reply (text or news), or null. */
  reply: Record<string, unknown> | null;
  receivedAt: number;
}

/**
 * What a follower did that lets the account send customer-service messages: a message of any
 * type, a menu click (click, scancode_push, scancode_waitmsg), a follow or a QR scan.
 */
export type InteractionKind = "message" | "menu" | "subscribe" | "scan";

/**
 * How long each interaction's customer-service window lasts and how many messages it takes, as
 * WeChat's customer-service message page lists them (客服消息下发规则): a user's message gives 5
 * within 48 hours; a menu click, a follow or a scan gives 3 within 1 minute. A menu link (VIEW)
 * opens nothing, and a click gives no share of a message's quota.
 */
export const SERVICE_WINDOWS: Readonly<Record<InteractionKind, { ms: number; quota: number }>> = {
  message: { ms: 48 * 60 * 60 * 1000, quota: 5 },
  menu: { ms: 60 * 1000, quota: 3 },
  subscribe: { ms: 60 * 1000, quota: 3 },
  scan: { ms: 60 * 1000, quota: 3 },
};
