/**
 * The D1 schema: the control plane (tenants, users, keys, provider settings) and the send log.
 * Times are Unix milliseconds; lists of strings are JSON text. Column names are snake_case in SQL
 * (drizzle `casing: "snake_case"`), camelCase here.
 */

import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { DESK_STATES, type DeskSettings } from "../domain/desk";
import type { Retention } from "../domain/retention";
import type { FraudGuard, VerificationLimits } from "../domain/verification-limits";
import {
  ATTEMPT_OUTCOMES,
  AUTO_REPLY_MATCHES,
  CHANNELS,
  MESSAGE_STATUSES,
  PROVIDERS,
  REVIEW_STATUSES,
  SEND_CHANNELS,
  TEMPLATE_KINDS,
  USER_STATUSES,
  type VariableDeclaration,
  WECHAT_MODES,
  type WebhookEvent,
  WORD_POLICIES,
} from "../domain/vocabulary";

export const tenants = sqliteTable("tenants", {
  id: text().primaryKey(),
  name: text().notNull(),
  /** ISO 3166 alpha-2: national numbers are read as this country's. */
  homeCountry: text().notNull(),
  allowedCountries: text({ mode: "json" }).$type<string[]>().notNull(),
  /** Messages per second the dispatcher releases for this tenant. */
  sendRate: integer().notNull().default(50),
  /** Sender signature (签名) such as 【Relaybox】, prefixed to messages on Chinese routes. */
  signature: text(),
  /** ISO 4217 currency of the price table and of every message's cost. */
  currency: text().notNull().default("USD"),
  /** Price per segment by ISO country, as decimal strings; missing countries use the defaults. */
  prices: text({ mode: "json" }).$type<Record<string, string>>().notNull().default({}),
  /** Marketing is held outside these hours in the recipient's local time: `{start, end}`, "HH:MM". */
  quietHours: text({ mode: "json" }).$type<{ start: string; end: string } | null>(),
  /**
   * One more on every change of the settings above. The dispatcher is told the new number before
   * the change is answered, and refuses a message composed under an older one (services/tenants).
   */
  settingsVersion: integer().notNull().default(0),
  /**
   * How many dispatcher objects share the tenant's traffic, by recipient (domain/dispatch-shards);
   * set by the platform admin. `previousDispatchShards`: the number before the last change, whose
   * shards may still hold messages of recipients that have moved (null: never changed).
   */
  dispatchShards: integer().notNull().default(1),
  previousDispatchShards: integer(),
  /**
   * The send log's partition that takes the tenant's new messages (db/send-log-partitions: the
   * name of a D1 binding, `DB` or a `SEND_LOG_*` one); set by the platform admin.
   * `previousSendLogs`: partitions it was on before, which still hold its older messages and are
   * read with the current one (null: never moved).
   */
  sendLog: text().notNull().default("DB"),
  previousSendLogs: text({ mode: "json" }).$type<string[]>(),
  /**
   * Further partitions that take new messages besides `sendLog`, for a tenant too busy for one D1
   * database: dispatcher shard k logs to `[sendLog, ...sendLogSpread][k mod n]` (null: none).
   */
  sendLogSpread: text({ mode: "json" }).$type<string[]>(),
  createdAt: integer().notNull(),
  /**
   * Set by the platform admin (routes/platform): the tenant's keys and sessions are refused with a
   * 403 and its dispatcher releases nothing until it is resumed; what it had accepted waits.
   */
  suspendedAt: integer(),
  /** Verification codes still go to numbers that opted out (services/opt-outs); off by default. */
  verificationOptOutExempt: integer({ mode: "boolean" }).notNull().default(false),
  /** The reply sent once when a number opts out, per language (`{zh?, en?}`); null sends none. */
  optOutConfirmation: text({ mode: "json" }).$type<{ zh?: string; en?: string } | null>(),
  /** Verification sends per recipient, range and country (domain/verification-limits); null: defaults. */
  verificationLimits: text({ mode: "json" }).$type<VerificationLimits | null>(),
  /** The low-conversion guard on verification sends; null: the defaults (on). */
  fraudGuard: text({ mode: "json" }).$type<FraudGuard | null>(),
  /**
   * The monthly spending limit in millionths of `currency` (domain/budget); null: no budget. The
   * running total is the tenant's dispatcher's, not D1's.
   */
  budgetMicros: integer(),
  /** How long bodies, messages and inbound messages are kept (domain/retention); null: defaults. */
  retention: text({ mode: "json" }).$type<Retention | null>(),
  /** The service desk's settings (domain/desk); null: the defaults (off). */
  desk: text({ mode: "json" }).$type<Partial<DeskSettings> | null>(),
});

export const users = sqliteTable(
  "users",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    email: text().notNull(),
    passwordHash: text().notNull(),
    /** A built-in role (domain/permissions) or a custom role's id (`rol_…`). */
    role: text().notNull(),
    /** `invited` until the invitation is accepted (no password yet), `disabled` signs in no more. */
    status: text({ enum: USER_STATUSES }).notNull().default("active"),
    createdAt: integer().notNull(),
    /**
     * Which version of this row a dashboard session was signed in under; a session of another
     * version is refused. The trigger `users_session_version` (migration 0013) counts it up on
     * every update of the row that does not set it itself, whoever makes the change (a service,
     * or an operator's SQL), so a role change, a new password or a disabled flag ends the user's
     * sessions with no call to forget. Keep columns that must not sign anyone out (a last-seen
     * time) out of this table. A table rebuild by drizzle-kit drops the trigger: recreate it (the
     * dashboard security tests fail without it).
     */
    sessionVersion: integer().notNull().default(1),
  },
  (t) => [uniqueIndex("users_email_unique").on(t.email)],
);

/** A signed-in dashboard browser: the cookie holds a random token, this table only its hash. */
export const dashboardSessions = sqliteTable(
  "dashboard_sessions",
  {
    /** SHA-256 (hex) of the cookie's token, so a copy of this table signs no one in. */
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The user's `session_version` at sign-in. */
    userVersion: integer().notNull(),
    csrf: text().notNull(),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
  },
  (t) => [
    index("dashboard_sessions_user").on(t.userId),
    index("dashboard_sessions_expiry").on(t.expiresAt),
  ],
);

/**
 * Dashboard sign-in attempts still counted against an account and an address (domain/
 * sign-in-throttle): each attempt is written before its password is checked, and removed again
 * when the password was right, so what remains are the failures.
 */
export const signInAttempts = sqliteTable(
  "sign_in_attempts",
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** SHA-256 (hex) of the trimmed, lower-cased email: known or not, typed into the form. */
    account: text().notNull(),
    /** The client's address (an IPv6 one as its /64). */
    address: text().notNull(),
    at: integer().notNull(),
  },
  (t) => [
    index("sign_in_attempts_account").on(t.account, t.at),
    index("sign_in_attempts_address").on(t.address, t.at),
  ],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    name: text().notNull(),
    /** The first characters of the key (`rbx_live_Ab12`), so a person can tell keys apart. */
    prefix: text().notNull(),
    /** SHA-256 of the whole key, hex. The key itself is never stored. */
    keyHash: text().notNull(),
    mode: text({ enum: ["live", "test"] }).notNull(),
    scopes: text({ mode: "json" }).$type<string[]>().notNull(),
    createdAt: integer().notNull(),
    revokedAt: integer(),
    /** Requests per second this key may make; null means the default (domain/rate-limits.ts). */
    rateLimitPerSecond: integer(),
    /** Requests the key may make at once before the per-second rate applies; null = default. */
    rateLimitBurst: integer(),
  },
  (t) => [
    uniqueIndex("api_keys_key_hash_unique").on(t.keyHash),
    index("api_keys_tenant_idx").on(t.tenantId, t.id),
  ],
);

export const messages = sqliteTable(
  "messages",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    channel: text({ enum: SEND_CHANNELS }).notNull(),
    /** E.164 recipient. */
    recipient: text().notNull(),
    /**
     * An SMS recipient's country (ISO 3166-1 alpha-2), read from the number once, when the message
     * was composed. Null for WeChat, and for rows logged before the column (read from the number).
     */
    country: text(),
    sender: text(),
    body: text().notNull(),
    /**
     * The name of the signature (签名) the text starts with: `Relaybox` for 【Relaybox】, for the
     * providers that add it themselves. Null when it starts with none, and for rows logged before
     * the column (read from the text).
     */
    signName: text(),
    metadata: text({ mode: "json" }).$type<Record<string, string>>(),
    /** Test-mode messages (sent with an `rbx_test_` key) only ever go to the sandbox. */
    mode: text({ enum: ["live", "test"] }).notNull(),
    status: text({ enum: MESSAGE_STATUSES }).notNull(),
    statusReason: text(),
    segments: integer().notNull(),
    encoding: text({ enum: ["GSM-7", "UCS-2"] }).notNull(),
    provider: text(),
    providerMessageId: text(),
    idempotencyKey: text(),
    /** Set when the message came from a batch, a template, or both. */
    batchId: text(),
    templateId: text(),
    templateVersion: integer(),
    /**
     * The template's variables in their declared order, for providers that render their own
     * approved template (Aliyun, Tencent) instead of taking our text.
     */
    templateParams: text({ mode: "json" }).$type<{ name: string; value: string }[]>(),
    /** A WeChat message's request to WeChat (template data, or a customer-service message). */
    payload: text({ mode: "json" }).$type<Record<string, unknown>>(),
    /** The template's kind; free bodies count as notifications. Marketing waits out quiet hours. */
    kind: text({ enum: TEMPLATE_KINDS }).notNull().default("notification"),
    /** What the message costs, in millionths of `currency`. */
    costMicros: integer().notNull().default(0),
    /**
     * The tenant's currency (ISO 4217) when the message was priced. Null for rows logged before
     * the column, which are shown in the tenant's currency.
     */
    currency: text(),
    attemptCount: integer().notNull().default(0),
    /** Which consumer invocation holds the message, and until when (ms); see queues/dispatch. */
    claimId: text(),
    claimedUntil: integer().notNull().default(0),
    createdAt: integer().notNull(),
    /**
     * When the message was due to go: the `send_at` asked for, else its acceptance (ms). Null
     * only for a row a Worker from before this column logged (migration 0013 fills the rest).
     */
    sendAt: integer(),
    updatedAt: integer().notNull(),
    sentAt: integer(),
    completedAt: integer(),
  },
  (t) => [
    index("messages_tenant_idx").on(t.tenantId, t.id),
    index("messages_tenant_status_idx").on(t.tenantId, t.status, t.id),
    index("messages_tenant_recipient_idx").on(t.tenantId, t.recipient, t.id),
    index("messages_provider_ref_idx").on(t.provider, t.providerMessageId),
    // The dispatcher's sweep for overdue receipts.
    index("messages_tenant_sent_idx").on(t.tenantId, t.status, t.sentAt),
    index("messages_batch_status_idx").on(t.batchId, t.status),
  ],
);

export const messageAttempts = sqliteTable(
  "message_attempts",
  {
    id: text().primaryKey(),
    messageId: text().notNull(),
    tenantId: text().notNull(),
    attempt: integer().notNull(),
    provider: text().notNull(),
    outcome: text({ enum: ATTEMPT_OUTCOMES }).notNull(),
    reason: text(),
    providerMessageId: text(),
    latencyMs: integer().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [uniqueIndex("message_attempts_message_attempt_unique").on(t.messageId, t.attempt)],
);

export const providerSettings = sqliteTable(
  "provider_settings",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    provider: text({ enum: PROVIDERS }).notNull(),
    enabled: integer({ mode: "boolean" }).notNull().default(true),
    /** Non-secret settings (base URL, sender id, timeouts), JSON. */
    config: text({ mode: "json" }).$type<Record<string, string | number | boolean>>().notNull(),
    /** Credentials, AES-GCM under MASTER_KEY (`v1.<iv b64>.<ciphertext b64>`), never returned. */
    secretCiphertext: text(),
    /** Random per tenant and provider: authenticates the carrier's callbacks to our hooks. */
    hookToken: text().notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("provider_settings_hook_token_unique").on(t.hookToken),
    uniqueIndex("provider_settings_tenant_provider_unique").on(t.tenantId, t.provider),
  ],
);

/**
 * Idempotency records for creating POSTs served from D1 (messages keep theirs in the tenant's
 * dispatcher). A row without a response is a request still in progress.
 */
export const idempotencyRecords = sqliteTable(
  "idempotency_records",
  {
    tenantId: text().notNull(),
    /** The operation and the caller's key, e.g. `POST /v1/keys order-7`. */
    key: text().notNull(),
    requestHash: text().notNull(),
    responseStatus: integer(),
    responseBody: text(),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.key] }),
    index("idempotency_expiry_idx").on(t.expiresAt),
  ],
);

/** A template and which of its versions serves; the versions hold the text and the review. */
export const templates = sqliteTable(
  "templates",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    name: text().notNull(),
    kind: text({ enum: TEMPLATE_KINDS }).notNull(),
    /** The newest version: the one edits and reviews apply to. */
    latestVersion: integer().notNull(),
    /** The version messages are sent with; null until one is approved. */
    approvedVersion: integer(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [index("templates_tenant_idx").on(t.tenantId, t.id)],
);

export const templateVersions = sqliteTable(
  "template_versions",
  {
    templateId: text()
      .notNull()
      .references(() => templates.id, { onDelete: "cascade" }),
    version: integer().notNull(),
    tenantId: text().notNull(),
    body: text().notNull(),
    variables: text({ mode: "json" }).$type<VariableDeclaration[]>().notNull(),
    status: text({ enum: REVIEW_STATUSES }).notNull(),
    /** Why a reviewer rejected it, or which words put it up for review. */
    reviewReason: text(),
    reviewedBy: text(),
    submittedAt: integer(),
    reviewedAt: integer(),
    createdAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.templateId, t.version] })],
);

/** Sender signatures (签名) such as 【Relaybox】, reviewed like templates. */
export const signatures = sqliteTable(
  "signatures",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** The name between the brackets: `Relaybox` is sent as 【Relaybox】. */
    name: text().notNull(),
    status: text({ enum: REVIEW_STATUSES }).notNull(),
    reviewReason: text(),
    reviewedBy: text(),
    submittedAt: integer(),
    reviewedAt: integer(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("signatures_tenant_name_unique").on(t.tenantId, t.name),
    index("signatures_tenant_idx").on(t.tenantId, t.id),
  ],
);

/** A tenant's own sensitive words, on top of the built-in lexicon. */
export const sensitiveWords = sqliteTable(
  "sensitive_words",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    word: text().notNull(),
    policy: text({ enum: WORD_POLICIES }).notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("sensitive_words_tenant_word_unique").on(t.tenantId, t.word),
    index("sensitive_words_tenant_idx").on(t.tenantId, t.id),
  ],
);

/**
 * A batch send. Its messages carry `batch_id`; their counts by status are read from the send
 * log. `canceled_at` is set by a cancel; whether it is sending or completed follows from the counts.
 */
export const batches = sqliteTable(
  "batches",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    templateId: text(),
    templateVersion: integer(),
    kind: text({ enum: TEMPLATE_KINDS }).notNull(),
    /** The mode of the key that sent it, as its messages'; a key reaches only its own mode's. */
    mode: text({ enum: ["live", "test"] })
      .notNull()
      .default("live"),
    accepted: integer().notNull(),
    rejected: integer().notNull(),
    sendAt: integer().notNull(),
    createdAt: integer().notNull(),
    canceledAt: integer(),
  },
  (t) => [index("batches_tenant_idx").on(t.tenantId, t.id)],
);

/**
 * Routing: for a destination (an ISO country, or a dialling prefix such as `+861`), the providers
 * to try in order. `weight` splits first attempts between providers of equal `priority`.
 */
export const routes = sqliteTable(
  "routes",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** `CN`, or a prefix of the E.164 number such as `+8613`; the longest match wins. */
    destination: text().notNull(),
    /** `[{provider, priority, weight}]`, tried by priority (1 first), weighted within one. */
    providers: text({ mode: "json" })
      .$type<{ provider: string; priority: number; weight: number }[]>()
      .notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [uniqueIndex("routes_tenant_destination_unique").on(t.tenantId, t.destination)],
);

/** A template's code at a provider that sends only its own approved templates (Aliyun, Tencent). */
export const templateProviderCodes = sqliteTable(
  "template_provider_codes",
  {
    templateId: text()
      .notNull()
      .references(() => templates.id, { onDelete: "cascade" }),
    provider: text().notNull(),
    tenantId: text().notNull(),
    code: text().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.templateId, t.provider] })],
);

/** A tenant's endpoint for signed event webhooks. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    url: text().notNull(),
    events: text({ mode: "json" }).$type<WebhookEvent[]>().notNull(),
    description: text(),
    /** The signing secret, AES-GCM under MASTER_KEY; shown once, at creation and rotation. */
    secretCiphertext: text().notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [index("webhook_endpoints_tenant_idx").on(t.tenantId, t.id)],
);

/** One event for one endpoint, and every attempt to deliver it. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    /**
     * No foreign key: the send log's partitions hold no endpoints (db/send-log-partitions), so
     * deleting an endpoint deletes its deliveries on each of them (services/webhooks/endpoints).
     */
    endpointId: text().notNull(),
    eventId: text().notNull(),
    eventType: text().notNull(),
    /** The exact body signed and sent. */
    payload: text().notNull(),
    status: text({ enum: ["pending", "delivered", "failed"] }).notNull(),
    attemptCount: integer().notNull().default(0),
    /** `[{at, status_code, error, latency_ms}]`, oldest first. */
    attempts: text({ mode: "json" })
      .$type<{ at: number; statusCode: number | null; error: string | null; latencyMs: number }[]>()
      .notNull(),
    nextAttemptAt: integer(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.id),
    uniqueIndex("webhook_deliveries_event_endpoint_unique").on(t.eventId, t.endpointId),
    /**
     * The deliveries whose payload still carries a message's text (an `inbound.received`
     * event's `data.body`), for retention to find what it has to redact (delivery/retention).
     */
    index("webhook_deliveries_bodies_idx")
      .on(t.tenantId, t.id)
      .where(sql`event_type = 'inbound.received' AND payload ->> '$.data.body' <> '[redacted]'`),
  ],
);

/**
 * Receipts that came before the send they report was recorded (carriers answer the send and post
 * the receipt at nearly the same moment): kept here and applied when the send is recorded. Keyed
 * by tenant too: carrier ids are the carriers' own, so one tenant's receipt must neither block nor
 * finish another tenant's message.
 */
export const pendingReceipts = sqliteTable(
  "pending_receipts",
  {
    provider: text().notNull(),
    providerMessageId: text().notNull(),
    tenantId: text().notNull(),
    status: text({ enum: ["delivered", "undelivered"] }).notNull(),
    reason: text(),
    receivedAt: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.provider, t.providerMessageId] }),
    index("pending_receipts_received_idx").on(t.receivedAt),
  ],
);

/**
 * A tenant's WeChat Official Account. Its secrets are AES-GCM under MASTER_KEY, never returned.
 * An app id can pass to another tenant once its owner deletes it, so every WeChat row below
 * carries its tenant and is keyed and read by it, and deleting an app deletes its rows
 * (services/wechat-apps `deleteWeChatApp`).
 */
export const wechatApps = sqliteTable(
  "wechat_apps",
  {
    appId: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    mode: text({ enum: WECHAT_MODES }).notNull(),
    /** `{app_secret, token, encoding_aes_key}`, encrypted. */
    secretCiphertext: text().notNull(),
    /** WeChat's API unless set (a fixed-IP egress proxy, or a fake in tests). */
    apiBaseUrl: text(),
    /** `stable_token` (default) or the classic `token` endpoint. */
    tokenEndpoint: text({ enum: ["stable_token", "token"] })
      .notNull()
      .default("stable_token"),
    /** Where sign-in with WeChat may return (exact URLs), JSON; none until the tenant sets them. */
    ssoRedirectUrls: text({ mode: "json" }).$type<string[]>().notNull().default([]),
    /** WeChat's account type: it sets the mass-send quota (domain/wechat-broadcast). */
    accountType: text({ enum: ["subscription", "service"] })
      .notNull()
      .default("service"),
    /** Verified (认证) by WeChat: only verified accounts may mass-send through the API. */
    verified: integer({ mode: "boolean" }).notNull().default(false),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [index("wechat_apps_tenant_idx").on(t.tenantId, t.appId)],
);

/**
 * The keys that sign an app's sign-in tokens (ES256): the current one (`retiredAt` null, one per
 * app) and those it replaced; the JWKS publishes the current and the one before it.
 */
export const wechatSsoKeys = sqliteTable(
  "wechat_sso_keys",
  {
    kid: text().primaryKey(),
    appId: text().notNull(),
    tenantId: text().notNull(),
    /** The public JWK, JSON (with its kid, alg and use). */
    publicJwk: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** The private JWK, encrypted like provider secrets. */
    privateCiphertext: text().notNull(),
    createdAt: integer().notNull(),
    retiredAt: integer(),
  },
  (t) => [
    uniqueIndex("wechat_sso_keys_current_unique").on(t.appId).where(sql`retired_at IS NULL`),
    index("wechat_sso_keys_app_idx").on(t.appId, t.createdAt),
  ],
);

/** What WeChat delivered to an account: messages and events, once each. */
export const wechatInbox = sqliteTable(
  "wechat_inbox",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    appId: text().notNull(),
    /** The dedup key (MsgId, MsgID, or FromUserName+CreateTime+Event+EventKey). */
    dedupKey: text().notNull(),
    /** `text`, `image`, … or `event`. */
    msgType: text().notNull(),
    event: text(),
    eventKey: text(),
    fromUser: text().notNull(),
    toUser: text().notNull(),
    /** WeChat's CreateTime, Unix seconds. */
    createTime: integer().notNull(),
    /** Every field WeChat sent, as parsed. */
    fields: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    /** The passive reply we answered with, if any. */
    reply: text({ mode: "json" }).$type<Record<string, unknown>>(),
    receivedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("wechat_inbox_dedup_unique").on(t.tenantId, t.appId, t.dedupKey),
    index("wechat_inbox_tenant_app_idx").on(t.tenantId, t.appId, t.id),
  ],
);

/**
 * Auto-reply rules: a keyword (exact, prefix, contains), the welcome on subscribe, or the default
 * reply. `channel` keeps the shape open for SMS keyword rules later.
 */
export const autoReplyRules = sqliteTable(
  "auto_reply_rules",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    channel: text({ enum: ["wechat", "sms"] }).notNull(),
    /** The WeChat app id (or, later, an SMS number) the rule belongs to. */
    scope: text().notNull(),
    match: text({ enum: AUTO_REPLY_MATCHES }).notNull(),
    keyword: text(),
    /** `{type: "text", content}` or `{type: "news", articles: [{title, description, url, pic_url}]}`. */
    reply: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** When the rule answers, in the tenant's zone: `{days: [1..7], start: "HH:MM", end}`; null: always. */
    activeWindow: text({ mode: "json" }).$type<{
      days: number[];
      start: string;
      end: string;
    } | null>(),
    priority: integer().notNull().default(100),
    createdAt: integer().notNull(),
  },
  (t) => [
    index("auto_reply_rules_tenant_scope_idx").on(t.tenantId, t.channel, t.scope, t.priority),
  ],
);

/**
 * Each keyword query asked of a tenant's endpoint for an auto-reply rule (services/webhooks/
 * queries.ts): `answered` (a reply in time), `no_reply` (204 or an empty reply), `late` (a reply
 * after WeChat's 4.5 s, sent as a customer-service message instead), `failed` (with its reason).
 */
export const keywordQueries = sqliteTable(
  "keyword_queries",
  {
    /** `qry_…`: the id the endpoint got in the request. */
    id: text().primaryKey(),
    tenantId: text().notNull(),
    /** Null for a query set off by a QR code's auto-reply rather than a rule. */
    ruleId: text(),
    channel: text({ enum: ["sms", "wechat"] }).notNull(),
    appId: text(),
    endpointId: text().notNull(),
    status: text({ enum: ["answered", "no_reply", "late", "failed"] }).notNull(),
    latencyMs: integer().notNull(),
    /** Why it failed (or, for a late query, what became of the answer). */
    reason: text(),
    /** When the endpoint was asked. */
    askedAt: integer().notNull(),
  },
  (t) => [
    index("keyword_queries_rule_idx").on(t.tenantId, t.ruleId, t.id),
    // Retention's walk over a tenant's oldest records (delivery/retention).
    index("keyword_queries_tenant_idx").on(t.tenantId, t.id),
  ],
);

/** A tenant's own end users, reachable by SMS (phone) and WeChat (bindings). */
export const contacts = sqliteTable(
  "contacts",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** The tenant's own user id. */
    externalId: text().notNull(),
    name: text(),
    /** E.164 */
    phone: text(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [uniqueIndex("contacts_tenant_external_unique").on(t.tenantId, t.externalId)],
);

/** A contact's WeChat identity in one Official Account. */
export const contactWeChatBindings = sqliteTable(
  "contact_wechat_bindings",
  {
    contactId: text()
      .notNull()
      .references(() => contacts.id, { onDelete: "cascade" }),
    tenantId: text().notNull(),
    appId: text().notNull(),
    openid: text().notNull(),
    /**
     * `api` when set through the contacts API, `oauth` when the person bound themselves, `qrcode`
     * when they scanned a binding QR code (services/wechat/qrcodes).
     */
    source: text({ enum: ["api", "oauth", "qrcode"] }).notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.contactId, t.appId] }),
    uniqueIndex("contact_wechat_tenant_app_openid_unique").on(t.tenantId, t.appId, t.openid),
  ],
);

/**
 * A QR code with a scene made for an app (`/cgi-bin/qrcode/create`): WeChat's ticket and URL, and
 * what a scan of it does. A binding code's `scene_str` is a random single-use token (the tenant's
 * `scene` stays ours); the others carry the tenant's scene to WeChat as it is.
 */
export const wechatQrCodes = sqliteTable(
  "wechat_qrcodes",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    appId: text().notNull(),
    /** The tenant's scene, given back in `wechat.scan`. */
    scene: text().notNull(),
    /** What WeChat's `scene_str` (≤ 64 characters) and a scan's EventKey carry. */
    sceneStr: text().notNull(),
    temporary: integer({ mode: "boolean" }).notNull(),
    /** `{type: "bind_contact", external_id}`, `{type: "auto_reply", reply}`, `{type: "tag", tag_id}`. */
    action: text({ mode: "json" }).$type<Record<string, unknown> | null>(),
    singleUse: integer({ mode: "boolean" }).notNull(),
    ticket: text().notNull(),
    url: text().notNull(),
    /** A temporary code's end (ms); null for a permanent one. */
    expiresAt: integer(),
    /** The openid that spent a single-use code, and when. */
    usedBy: text(),
    usedAt: integer(),
    createdAt: integer().notNull(),
  },
  (t) => [
    index("wechat_qrcodes_scene_idx").on(t.tenantId, t.appId, t.sceneStr),
    index("wechat_qrcodes_tenant_app_idx").on(t.tenantId, t.appId, t.id),
  ],
);

/** An account's followers, kept by subscribe/unsubscribe events and the follower sync. */
export const wechatFollowers = sqliteTable(
  "wechat_followers",
  {
    appId: text().notNull(),
    openid: text().notNull(),
    tenantId: text().notNull(),
    following: integer({ mode: "boolean" }).notNull(),
    /** WeChat's user info (nickname is no longer given; tags, remark, subscribe_time…), JSON. */
    info: text({ mode: "json" }).$type<Record<string, unknown>>(),
    tagIds: text({ mode: "json" }).$type<number[]>().notNull().default([]),
    /** The last message, click, subscribe or scan. */
    lastInteractionAt: integer(),
    /**
     * The customer-service window that interaction opened: its kind sets its length and quota
     * (durable-objects/wechat-inbound-types `SERVICE_WINDOWS`).
     */
    serviceWindowKind: text({ enum: ["message", "menu", "subscribe", "scan"] }),
    serviceWindowOpenedAt: integer(),
    subscribedAt: integer(),
    unsubscribedAt: integer(),
    updatedAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.appId, t.openid] })],
);

/**
 * A follower sync (services/wechat/follower-sync.ts): WeChat's list read a page (10,000 openids)
 * per queue message, so an account of any size syncs without one long request. `pages` is the
 * number of pages done: a message carries the page it is for, so a redelivered one counts nothing
 * twice. `started_at`: rows not listed since then are marked unfollowed when the job is done.
 */
export const wechatFollowerSyncs = sqliteTable(
  "wechat_follower_syncs",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    appId: text().notNull(),
    status: text({ enum: ["running", "done", "failed"] }).notNull(),
    /** WeChat's follower count, as its first page gave it. */
    total: integer(),
    /** Followers listed and their info fetched so far. */
    fetched: integer().notNull().default(0),
    pages: integer().notNull().default(0),
    error: text(),
    startedAt: integer().notNull(),
    finishedAt: integer(),
    updatedAt: integer().notNull(),
  },
  (t) => [index("wechat_follower_syncs_app_idx").on(t.tenantId, t.appId, t.startedAt)],
);

/**
 * One customer-service message's place in its follower's window, taken when the message is
 * accepted (services/wechat-messages), so back-to-back requests cannot pass WeChat's quota.
 */
export const wechatServiceReservations = sqliteTable(
  "wechat_service_reservations",
  {
    /** The request's Idempotency-Key (tenant-scoped) or, without one, its message id. */
    reservationKey: text().primaryKey(),
    tenantId: text().notNull(),
    appId: text().notNull(),
    openid: text().notNull(),
    windowOpenedAt: integer().notNull(),
    messageId: text().notNull(),
    reservedAt: integer().notNull(),
  },
  (t) => [
    index("wechat_service_reservations_tenant_window").on(
      t.tenantId,
      t.appId,
      t.openid,
      t.windowOpenedAt,
    ),
  ],
);

/**
 * A tenant's own role: a named set of permissions (domain/permissions) that users are given by
 * its id in `users.role`. Built-in roles are not rows: they are the matrix in domain/permissions.
 */
export const roles = sqliteTable(
  "roles",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    name: text().notNull(),
    description: text().notNull().default(""),
    permissions: text({ mode: "json" }).$type<string[]>().notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [uniqueIndex("roles_tenant_name").on(t.tenantId, t.name)],
);

/**
 * An invitation to join a tenant: the link carries a token signed for this row's id (7 days), and
 * accepting it sets `accepted_at`, so it works once. The invited user's row exists from the start
 * (status `invited`), so the email is taken and the role can be changed before they accept.
 */
export const invitations = sqliteTable(
  "invitations",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** Who invited: a user's id, an API key's id, or `platform`. */
    invitedBy: text().notNull(),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    acceptedAt: integer(),
  },
  (t) => [index("invitations_user").on(t.userId)],
);

/**
 * The audit log: one hash-chained line per tenant (services/audit). `seq` numbers a tenant's
 * entries 1, 2, 3… with no gap; the unique index on it is what serialises the chain's head, since
 * two writers that read the same head both try the same `seq` and only one commits. `hash` is the
 * SHA-256 of the entry's canonical content, `prev_hash` included (domain/audit-chain).
 */
export const auditEntries = sqliteTable(
  "audit_entries",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    seq: integer().notNull(),
    at: integer().notNull(),
    actorType: text({ enum: ["user", "key", "platform", "system"] }).notNull(),
    actorId: text().notNull(),
    ip: text(),
    requestId: text(),
    action: text().notNull(),
    /** What was changed: an id (`key_…`, `usr_…`) or a name for a singleton (`tenant`). */
    target: text().notNull(),
    /** The canonical JSON of `{field: {from, to}}`; a secret appears only as `"(changed)"`. */
    diff: text().notNull(),
    prevHash: text().notNull(),
    hash: text().notNull(),
  },
  (t) => [
    uniqueIndex("audit_entries_chain").on(t.tenantId, t.seq),
    index("audit_entries_tenant_id").on(t.tenantId, t.id),
  ],
);

/**
 * Every message a person sent to a tenant, on either channel (`inb_`): an SMS through a carrier's
 * inbound hook, a WeChat user's message through the app's webhook. Stored once per carrier id.
 */
export const inboundMessages = sqliteTable(
  "inbound_messages",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    channel: text({ enum: CHANNELS }).notNull(),
    conversationId: text().notNull(),
    /** E.164 for SMS; the follower's openid for WeChat. */
    sender: text().notNull(),
    /** Our number (E.164, or as the carrier wrote it) for SMS; the app id for WeChat. */
    recipient: text().notNull(),
    body: text().notNull(),
    /** The provider it came through (`twilio`, `aliyun`, `tencent`, `sandbox`, `wechat`). */
    provider: text().notNull(),
    /** The provider's id for it (or a key made from its fields): a retry is stored once. */
    providerMessageId: text().notNull(),
    /** Everything the provider sent, as parsed. */
    raw: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /**
     * What was done with it: `{opt_out?: {action: "opted_out" | "already_opted_out" | "opted_in"
     * | "still_suppressed", confirmation?: {message_id} | {skipped}}, auto_reply?: {message_id} |
     * {skipped}, forwarded?: [...]}`.
     */
    handling: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    /** The automatic reply sent to it, for the loop guard (at most 3 an hour to one number). */
    autoReplyMessageId: text(),
    receivedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("inbound_messages_dedup").on(t.tenantId, t.provider, t.providerMessageId),
    index("inbound_messages_tenant").on(t.tenantId, t.id),
    index("inbound_messages_conversation").on(t.conversationId, t.id),
    index("inbound_messages_sender").on(t.tenantId, t.sender, t.receivedAt),
  ],
);

/**
 * A thread with one person (`cnv_`): tenant × channel × counterpart (a phone number or an
 * openid). Its messages are the inbound ones naming it and the sent ones to the counterpart.
 */
export const conversations = sqliteTable(
  "conversations",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    channel: text({ enum: CHANNELS }).notNull(),
    counterpart: text().notNull(),
    /** The contact bound to the counterpart, when there is one. */
    contactId: text(),
    /** The last message either way: `{direction, body, at}`. */
    lastMessage: text({ mode: "json" }).$type<{
      direction: "inbound" | "outbound";
      body: string;
      at: number;
    } | null>(),
    lastActivityAt: integer().notNull(),
    /** Inbound messages since the conversation was last read. */
    unreadCount: integer().notNull().default(0),
    createdAt: integer().notNull(),
    /**
     * The service desk's state (domain/desk). Written only by the tenant's desk object
     * (durable-objects/desk), which decides every move; `deskVersion` is its counter, so an older
     * write arriving late changes nothing.
     */
    deskState: text({ enum: DESK_STATES }).notNull().default("bot"),
    /** The agent (`usr_…`) it is assigned to, while assigned or pending. */
    agentId: text(),
    /** The skill it is queued for; null: any agent. */
    skill: text(),
    /** When a left message (留言) is due to be answered. */
    dueAt: integer(),
    deskVersion: integer().notNull().default(0),
    /** The customer's last satisfaction digit (1–5) after a resolution. */
    satisfaction: integer(),
  },
  (t) => [
    uniqueIndex("conversations_counterpart").on(t.tenantId, t.channel, t.counterpart),
    index("conversations_activity").on(t.tenantId, t.lastActivityAt),
    index("conversations_desk").on(t.tenantId, t.deskState, t.agentId),
  ],
);

/**
 * What happened on a conversation at the desk, oldest first: its state moves (`from_state`,
 * `to_state`, with the agent), internal notes and satisfaction answers. Written by the desk object
 * (moves) and the services (notes), never changed.
 */
export const conversationEvents = sqliteTable(
  "conversation_events",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    conversationId: text().notNull(),
    /** `state`, `note` or `satisfaction`. */
    type: text().notNull(),
    fromState: text(),
    toState: text(),
    agentId: text(),
    /** Who did it: a user id, `customer`, `system` or an API key id. */
    actor: text().notNull(),
    detail: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    at: integer().notNull(),
  },
  (t) => [
    index("conversation_events_conversation").on(t.tenantId, t.conversationId, t.at),
    // The notes that still carry text, for retention's redaction (delivery/retention).
    index("conversation_events_note_text")
      .on(t.tenantId, t.at)
      .where(sql`type = 'note' AND detail ->> '$.body' <> '[redacted]'`),
  ],
);

/** The desk's canned replies: a short tenant-level list agents pick from (dashboard). */
export const cannedReplies = sqliteTable(
  "canned_replies",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    title: text().notNull(),
    body: text().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [index("canned_replies_tenant").on(t.tenantId, t.title)],
);

/** Numbers that asked a tenant to stop (an inbound keyword) or that it suppressed by hand. */
export const optOuts = sqliteTable(
  "opt_outs",
  {
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** E.164 */
    phone: text().notNull(),
    source: text({ enum: ["keyword", "manual"] }).notNull(),
    reason: text(),
    /** The inbound message that opted it out, for a keyword. */
    inboundId: text(),
    createdAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.phone] })],
);

/** Copies of matching inbound messages to a phone number or one webhook endpoint (`fwd_`). */
export const forwardingRules = sqliteTable(
  "forwarding_rules",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** `all`, or a keyword matched as `exact`, `prefix` or `contains`. */
    match: text({ enum: ["all", "exact", "prefix", "contains"] }).notNull(),
    keyword: text(),
    targetType: text({ enum: ["phone", "webhook"] }).notNull(),
    /** E.164 for `phone`; a webhook endpoint's id (`whk_…`) for `webhook`. */
    target: text().notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [index("forwarding_rules_tenant").on(t.tenantId, t.id)],
);

/**
 * Verification codes (`vrf_`): one row per verification, re-sends included (a re-send inside the
 * ttl replaces `code_hash`, so the old code stops working). The code itself is never stored: only
 * an HMAC of it (delivery/verification-codes). `recipient` is what the limits count by: the E.164
 * number, or the openid for WeChat.
 */
export const verifications = sqliteTable(
  "verifications",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** As asked for: `sms`, `wechat` or `auto`. */
    channel: text({ enum: ["sms", "wechat", "auto"] }).notNull(),
    /** The `to` of the request, normalised (E.164 for SMS). */
    to: text().notNull(),
    /** The number or openid the last code went to. */
    recipient: text().notNull(),
    /** The ISO country of the number, for SMS; null for WeChat. */
    country: text(),
    appId: text(),
    status: text({
      enum: ["pending", "approved", "expired", "canceled", "max_attempts_reached"],
    }).notNull(),
    codeHash: text().notNull(),
    codeLength: integer().notNull(),
    attempts: integer().notNull().default(0),
    sendCount: integer().notNull().default(1),
    /**
     * The tenant's VerificationLimiter's revision of this row (it holds live verifications and
     * writes them here through an outbox): a write only lands over an older revision.
     */
    revision: integer().notNull().default(0),
    /** The message that carries the current code. */
    messageId: text(),
    mode: text({ enum: ["live", "test"] }).notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
    expiresAt: integer().notNull(),
    approvedAt: integer(),
  },
  (t) => [
    index("verifications_recipient").on(t.tenantId, t.to, t.status),
    index("verifications_created").on(t.tenantId, t.createdAt),
    index("verifications_due").on(t.status, t.expiresAt),
    index("verifications_message").on(t.messageId),
  ],
);

/**
 * Each message that carried a verification code, with its text as the send log keeps it once the
 * message is final: migration 0023's trigger masks the code in `messages` then (the consumer still
 * needs it while it sends). Also what the stats count as sent per day.
 */
export const verificationMessages = sqliteTable(
  "verification_messages",
  {
    messageId: text().primaryKey(),
    verificationId: text().notNull(),
    /**
     * No foreign key: a copy of the row goes to each send-log partition of the tenant, where the
     * trigger masks its message, and the partitions hold no tenants (db/send-log-partitions).
     */
    tenantId: text().notNull(),
    /**
     * The SMS text masked: all of it, or its end (a signature the text was given stays in front);
     * for a WeChat message, the text of its SMS part or fallback.
     */
    maskedBody: text().notNull(),
    /** For a message that goes by WeChat, its summary (the send log's body) masked. */
    maskedWechat: text(),
    createdAt: integer().notNull(),
  },
  (t) => [index("verification_messages_tenant").on(t.tenantId, t.createdAt)],
);

/**
 * The send log's rollup: how many messages, segments and how much cost there is per tenant ×
 * 15-minute UTC bucket of acceptance (`created_at`) × channel × provider × template × country ×
 * currency × mode, in each status (one column per status: a status change is one UPDATE of one
 * row, old status − 1, new status + 1). A row counts the messages that are in each status now, so
 * it always equals a direct count of the send log (retention deleting old rows aside: the rollups
 * are kept). Written only by migration 0027's triggers on `messages`, which fire inside the status
 * writer's (and the dispatcher's insert's) own statements: see that migration for why. Missing
 * values are `''`, so the key is unique (SQLite's NULLs are all distinct). The four stat_ tables
 * are `WITHOUT ROWID` in migration 0027 (by hand: drizzle cannot say it); keep that when
 * regenerating.
 */
export const statRollups = sqliteTable(
  "stat_rollups",
  {
    tenantId: text().notNull(),
    /**
     * 0: a 15-minute bucket, 1: a UTC hour, 2: a UTC day. Every change is added at all three, so
     * a long range reads whole days and hours and only its edges in 15-minute buckets.
     */
    grain: integer().notNull(),
    /** Start of the bucket (ms, UTC). */
    bucketStart: integer().notNull(),
    channel: text().notNull(),
    provider: text().notNull(),
    templateId: text().notNull(),
    country: text().notNull(),
    currency: text().notNull(),
    /** Live and test-mode messages are counted apart: an API key sees only its own mode's. */
    mode: text({ enum: ["live", "test"] }).notNull(),
    /** Per status (MESSAGE_STATUSES): messages in it now, their segments and cost. */
    scheduled: integer().notNull().default(0),
    scheduledSegments: integer().notNull().default(0),
    scheduledCostMicros: integer().notNull().default(0),
    queued: integer().notNull().default(0),
    queuedSegments: integer().notNull().default(0),
    queuedCostMicros: integer().notNull().default(0),
    sending: integer().notNull().default(0),
    sendingSegments: integer().notNull().default(0),
    sendingCostMicros: integer().notNull().default(0),
    sent: integer().notNull().default(0),
    sentSegments: integer().notNull().default(0),
    sentCostMicros: integer().notNull().default(0),
    delivered: integer().notNull().default(0),
    deliveredSegments: integer().notNull().default(0),
    deliveredCostMicros: integer().notNull().default(0),
    undelivered: integer().notNull().default(0),
    undeliveredSegments: integer().notNull().default(0),
    undeliveredCostMicros: integer().notNull().default(0),
    failed: integer().notNull().default(0),
    failedSegments: integer().notNull().default(0),
    failedCostMicros: integer().notNull().default(0),
    canceled: integer().notNull().default(0),
    canceledSegments: integer().notNull().default(0),
    canceledCostMicros: integer().notNull().default(0),
    expired: integer().notNull().default(0),
    expiredSegments: integer().notNull().default(0),
    expiredCostMicros: integer().notNull().default(0),
  },
  (t) => [
    primaryKey({
      columns: [
        t.tenantId,
        t.grain,
        t.bucketStart,
        t.channel,
        t.provider,
        t.templateId,
        t.country,
        t.currency,
        t.mode,
      ],
    }),
  ],
);

/**
 * Latency histograms: messages per fixed bucket (domain/stats LATENCY_BOUNDS_MS) of the time from
 * acceptance (or the `send_at` asked for) to sent (`metric` `sent`) and to delivered
 * (`delivered`), per tenant × bucket of acceptance × channel × provider × country (not template:
 * the issue asks for them per provider and country, and a key less keeps a 30-day read small).
 * Each message adds once per metric (sent_at is written once; delivered is final).
 *
 * One row per histogram, a column per latency bucket (`b0` … `b16`: the 16 bounds' buckets and
 * the overflow), so a read sums columns rather than one row per bucket (migration 0042). The
 * metric comes before the time in the key: the answer reads only `delivered`, one stretch.
 */
export const statLatencies = sqliteTable(
  "stat_latencies",
  {
    tenantId: text().notNull(),
    metric: text({ enum: ["sent", "delivered"] }).notNull(),
    /** As in stat_rollups: 0 15 minutes, 1 hour, 2 day. */
    grain: integer().notNull(),
    bucketStart: integer().notNull(),
    channel: text().notNull(),
    provider: text().notNull(),
    country: text().notNull(),
    mode: text({ enum: ["live", "test"] }).notNull(),
    b0: integer().notNull().default(0),
    b1: integer().notNull().default(0),
    b2: integer().notNull().default(0),
    b3: integer().notNull().default(0),
    b4: integer().notNull().default(0),
    b5: integer().notNull().default(0),
    b6: integer().notNull().default(0),
    b7: integer().notNull().default(0),
    b8: integer().notNull().default(0),
    b9: integer().notNull().default(0),
    b10: integer().notNull().default(0),
    b11: integer().notNull().default(0),
    b12: integer().notNull().default(0),
    b13: integer().notNull().default(0),
    b14: integer().notNull().default(0),
    b15: integer().notNull().default(0),
    b16: integer().notNull().default(0),
  },
  (t) => [
    primaryKey({
      columns: [
        t.tenantId,
        t.metric,
        t.grain,
        t.bucketStart,
        t.channel,
        t.provider,
        t.country,
        t.mode,
      ],
    }),
  ],
);

/**
 * Why messages ended badly: per tenant × 15-minute bucket of acceptance × provider × country ×
 * final status (`failed`, `undelivered`, `expired`) × reason (`status_reason`, its first 200
 * characters), added once as a message reaches the status (final statuses never move).
 */
export const statErrors = sqliteTable(
  "stat_errors",
  {
    tenantId: text().notNull(),
    bucketStart: integer().notNull(),
    channel: text().notNull(),
    provider: text().notNull(),
    country: text().notNull(),
    status: text().notNull(),
    reason: text().notNull(),
    mode: text({ enum: ["live", "test"] }).notNull(),
    n: integer().notNull().default(0),
  },
  (t) => [
    primaryKey({
      columns: [
        t.tenantId,
        t.bucketStart,
        t.channel,
        t.provider,
        t.country,
        t.status,
        t.reason,
        t.mode,
      ],
    }),
  ],
);

/**
 * Counters beside the send log: `inbound` (inbound messages stored), `verification_sent` (codes
 * sent, re-sends included), `verification_check` (checks made), `verification_approved`,
 * `opt_out` (numbers opted out), per tenant × 15-minute UTC bucket × channel × provider. Written
 * by migration 0023's triggers on the rows that record them, so a retried hook that stores
 * nothing counts nothing.
 */
export const statCounters = sqliteTable(
  "stat_counters",
  {
    tenantId: text().notNull(),
    bucketStart: integer().notNull(),
    metric: text({
      enum: [
        "inbound",
        "verification_sent",
        "verification_check",
        "verification_approved",
        "opt_out",
      ],
    }).notNull(),
    channel: text().notNull(),
    provider: text().notNull(),
    n: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.bucketStart, t.metric, t.channel, t.provider] })],
);

/**
 * Media uploaded to WeChat through us: only our id and WeChat's media_id (never the file).
 * Temporary media last 3 days at WeChat (`expiresAt`); permanent ones until deleted.
 */
export const wechatMedia = sqliteTable(
  "wechat_media",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    appId: text().notNull(),
    type: text({ enum: ["image", "voice", "video", "thumb"] }).notNull(),
    permanent: integer({ mode: "boolean" }).notNull(),
    mediaId: text().notNull(),
    /** WeChat's URL of a permanent image. */
    url: text(),
    filename: text(),
    bytes: integer().notNull(),
    expiresAt: integer(),
    createdAt: integer().notNull(),
  },
  (t) => [
    index("wechat_media_app_idx").on(t.tenantId, t.appId, t.id),
    index("wechat_media_media_id_idx").on(t.tenantId, t.appId, t.mediaId),
  ],
);

/** A mass send (群发) of an account: to all followers, a tag, or a list of openids. */
export const wechatBroadcasts = sqliteTable(
  "wechat_broadcasts",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    appId: text().notNull(),
    /** `{kind: "all"} | {kind: "tag", tag_id} | {kind: "openids", openids}`. */
    target: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
    type: text({
      enum: ["text", "image", "mpnews", "voice", "mpvideo", "template"],
    }).notNull(),
    /** What is sent, as the API took it (text, media ids, template data). */
    content: text({ mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** pending_review → sending (a template's fan-out) → sent | failed; canceled; rejected. */
    status: text({
      enum: ["pending_review", "sending", "sent", "failed", "rejected", "canceled"],
    }).notNull(),
    reviewReason: text(),
    failure: text(),
    /** The quota period (`2026-12-07` or `2026-12`) a sent broadcast counts against. */
    quotaPeriod: text(),
    createdBy: text(),
    createdAt: integer().notNull(),
    sentAt: integer(),
    canceledAt: integer(),
    /**
     * A template broadcast's fan-out (one template message per follower, services/wechat/
     * broadcast-fanout.ts): pages of followers listed so far, whether the listing is complete, and
     * the counts of its recipients (wechat_broadcast_recipients). Null for the other types.
     */
    fanoutPages: integer(),
    fanoutListed: integer({ mode: "boolean" }),
    fanoutTotal: integer(),
    fanoutSent: integer(),
    fanoutErrors: integer(),
  },
  (t) => [
    index("wechat_broadcasts_app_idx").on(t.tenantId, t.appId, t.id),
    index("wechat_broadcasts_quota_idx").on(t.tenantId, t.appId, t.quotaPeriod),
  ],
);

/**
 * One follower of a template broadcast and what became of its template message: pending →
 * sending → sent | failed; `unknown` when an attempt died between WeChat's call and this row's
 * write (never sent again: a template message has no mass job that WeChat deduplicates for long);
 * `canceled` when the broadcast was canceled before its chunk went.
 */
export const wechatBroadcastRecipients = sqliteTable(
  "wechat_broadcast_recipients",
  {
    broadcastId: text().notNull(),
    openid: text().notNull(),
    /** The queue message (of up to FANOUT_CHUNK followers) that sends it. */
    chunk: integer().notNull(),
    status: text({
      enum: ["pending", "sending", "sent", "failed", "unknown", "canceled"],
    }).notNull(),
    msgId: text(),
    error: text(),
  },
  (t) => [
    primaryKey({ columns: [t.broadcastId, t.openid] }),
    index("wechat_broadcast_recipients_chunk_idx").on(t.broadcastId, t.chunk),
    index("wechat_broadcast_recipients_status_idx").on(t.broadcastId, t.status),
  ],
);

/**
 * One WeChat mass job of a broadcast (a send by openids is one job per chunk of up to 10,000), and
 * its MASSSENDJOBFINISH counts once WeChat reports them.
 */
export const wechatBroadcastJobs = sqliteTable(
  "wechat_broadcast_jobs",
  {
    broadcastId: text().notNull(),
    tenantId: text().notNull(),
    appId: text().notNull(),
    msgId: text().notNull(),
    msgDataId: text(),
    /** WeChat's Status: `send success`, `send fail`, `err(num)`; null until the event. */
    status: text(),
    total: integer(),
    afterFilter: integer(),
    sent: integer(),
    errors: integer(),
    finishedAt: integer(),
  },
  (t) => [
    primaryKey({ columns: [t.broadcastId, t.msgId] }),
    uniqueIndex("wechat_broadcast_jobs_msg_idx").on(t.tenantId, t.appId, t.msgId),
  ],
);

/**
 * A tenant's public web chat widget key (`wk_…`, in the page's script tag) with the origins its
 * pages may be served from, and the HS256 secret (encrypted) the tenant's site signs visitors'
 * identity tokens with. A revoked key connects nothing.
 */
export const webchatWidgetKeys = sqliteTable(
  "webchat_widget_keys",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    name: text().notNull(),
    allowedOrigins: text({ mode: "json" }).$type<string[]>().notNull(),
    secretCiphertext: text().notNull(),
    createdAt: integer().notNull(),
    revokedAt: integer(),
  },
  (t) => [index("webchat_widget_keys_tenant").on(t.tenantId, t.id)],
);

/** An inspector's checklist (`chk_…`): items with the points each is worth. */
export const inspectionChecklists = sqliteTable(
  "inspection_checklists",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    name: text().notNull(),
    /** `[{id, label, points}]`: an item's id stays when the list is edited. */
    items: text({ mode: "json" })
      .$type<{ id: string; label: string; points: number }[]>()
      .notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
    deletedAt: integer(),
  },
  (t) => [index("inspection_checklists_tenant").on(t.tenantId, t.id)],
);

/** One inspector's score of one resolved conversation (`isp_…`), against a checklist. */
export const inspections = sqliteTable(
  "inspections",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    conversationId: text().notNull(),
    /** The agent who resolved it: whose score this is. */
    agentId: text(),
    checklistId: text().notNull(),
    inspectorId: text().notNull(),
    items: text({ mode: "json" }).$type<{ item_id: string; points: number }[]>().notNull(),
    score: integer().notNull(),
    maxScore: integer().notNull(),
    comment: text(),
    createdAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex("inspections_conversation").on(t.tenantId, t.conversationId, t.checklistId),
    index("inspections_agent").on(t.tenantId, t.agentId, t.createdAt),
  ],
);

/**
 * A message sent to a web chat visitor (an agent's reply or the robot's answer), as the
 * conversation's thread shows it: the visitor's hub keeps its own copy only until delivered. The
 * id is the message's (`wcm_…`), so a send tried twice is one row.
 */
export const webchatMessages = sqliteTable(
  "webchat_messages",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    /** The visitor (the conversation's counterpart). */
    counterpart: text().notNull(),
    body: text().notNull(),
    /** `agent` or `robot`. */
    sender: text().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [
    index("webchat_messages_counterpart").on(t.tenantId, t.counterpart, t.createdAt),
    // Retention seeks "made before" by id (delivery/retention).
    index("webchat_messages_tenant").on(t.tenantId, t.id),
  ],
);
