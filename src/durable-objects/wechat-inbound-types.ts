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
