/**
 * The domain's vocabulary: the enum tuples and their types that the API, the schema, the
 * channels and the rules share. The D1 schema imports them (db/schema.ts); nothing here imports
 * the database, so routes, channels and domain rules read the words without reaching into db/.
 */

export const USER_STATUSES = ["invited", "active", "disabled"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const TEMPLATE_KINDS = ["verification", "notification", "marketing"] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

export const CHANNELS = ["sms", "wechat", "webchat"] as const;
export type Channel = (typeof CHANNELS)[number];

/** The channels the send log (messages) carries; web chat's replies go over the visitor's socket. */
export const SEND_CHANNELS = ["sms", "wechat"] as const;
export type SendChannel = (typeof SEND_CHANNELS)[number];

export const MESSAGE_STATUSES = [
  "scheduled",
  "queued",
  "sending",
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "canceled",
  "expired",
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const ATTEMPT_OUTCOMES = ["sent", "retryable", "permanent", "unknown"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const PROVIDERS = ["sandbox", "twilio", "aliyun", "tencent"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const REVIEW_STATUSES = ["draft", "pending_review", "approved", "rejected"] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const VARIABLE_TYPES = ["string", "number", "code", "date", "url"] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export const WORD_POLICIES = ["block", "review", "mask"] as const;
export type WordPolicy = (typeof WORD_POLICIES)[number];

export const WEBHOOK_EVENTS = [
  "message.sent",
  "message.delivered",
  "message.undelivered",
  "message.failed",
  "message.expired",
  "inbound.received",
  "opt_out.created",
  "opt_out.removed",
  "verification.approved",
  "verification.expired",
  "budget.threshold",
  "wechat.scan",
  "conversation.created",
  "conversation.assigned",
  "conversation.resolved",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WECHAT_MODES = ["plaintext", "compatible", "safe"] as const;
export type WeChatMode = (typeof WECHAT_MODES)[number];

export const AUTO_REPLY_MATCHES = ["exact", "prefix", "contains", "subscribe", "default"] as const;
export type AutoReplyMatch = (typeof AUTO_REPLY_MATCHES)[number];

export interface VariableDeclaration {
  name: string;
  type: VariableType;
  maxLength: number;
}
