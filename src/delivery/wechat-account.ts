/**
 * The WeChatAccount object of an app (durable-objects/wechat-account): its token authority and
 * the recorder of what WeChat pushes to its webhook. The API client, the webhook, the app's
 * registration and the dispatch consumer reach it through here.
 */

/** The app's object; the name is derived from the app id, a key of our own table. */
export function wechatAccountOf(env: Env, appId: string) {
  return env.WECHAT_ACCOUNT.get(env.WECHAT_ACCOUNT.idFromName(`wechat:${appId}`));
}

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
