/**
 * The D1 schema: the control plane (tenants, users, keys, provider settings) and the send log.
 * Times are Unix milliseconds; lists of strings are JSON text. Column names are snake_case in SQL
 * (drizzle `casing: "snake_case"`), camelCase here.
 */
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

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
  createdAt: integer().notNull(),
});

export const ROLES = ["admin", "operator", "reviewer", "analyst", "agent"] as const;
export type Role = (typeof ROLES)[number];

export const users = sqliteTable(
  "users",
  {
    id: text().primaryKey(),
    tenantId: text()
      .notNull()
      .references(() => tenants.id),
    email: text().notNull(),
    passwordHash: text().notNull(),
    role: text({ enum: ROLES }).notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [uniqueIndex("users_email_unique").on(t.email)],
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

export const messages = sqliteTable(
  "messages",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    channel: text({ enum: ["sms"] }).notNull(),
    /** E.164 recipient. */
    recipient: text().notNull(),
    sender: text(),
    body: text().notNull(),
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
    attemptCount: integer().notNull().default(0),
    /** Which consumer invocation holds the message, and until when (ms); see queues/dispatch. */
    claimId: text(),
    claimedUntil: integer().notNull().default(0),
    createdAt: integer().notNull(),
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
  ],
);

export const ATTEMPT_OUTCOMES = ["sent", "retryable", "permanent", "unknown"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

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

export const PROVIDERS = ["sandbox"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

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
