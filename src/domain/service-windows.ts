/**
 * WeChat's customer-service windows: what a follower's interaction opens, for how long, and how
 * many messages it lets the account send. The WeChatAccount's inbound side opens them, the API
 * takes a slot of one for each customer-service message, and the consumer checks one at send time.
 */

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
