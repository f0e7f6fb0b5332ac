/**
 * Sending and reading messages: the rules every entry point (API, dashboard) goes through.
 */
import { and, eq, gte, lte } from "drizzle-orm";
import { database } from "../../db/client";
import { findMessage, type MessageRow } from "../../db/message-log";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { messageAttempts, messages } from "../../db/schema";
import { dispatcherOf } from "../../delivery/dispatcher";
import {
  type AcceptedMessage,
  initialStatus,
  type OutboxMessage,
  type PendingMessage,
  QUIET_HOURS_REASON,
} from "../../delivery/dispatcher-types";
import { type Caller, modeSeenBy } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import { fromMicros } from "../../domain/pricing";
import type { MessageStatus } from "../../domain/vocabulary";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { currentSettings, StaleSettings, withCurrentSettings } from "../accounts/tenants";
import { loadScreener, type SensitiveHit } from "../content/sensitive-words";
import { servingTemplate } from "../content/serving-templates";
import { type Content, composeMessage } from "./compose";
import { idempotencyKeyOf } from "./idempotency";
import { type OutboxOrigin, smsOutboxMessage } from "./outbox-message";

/** How far ahead a message or batch may be scheduled. */
export const MAX_SCHEDULE_MS = 35 * 24 * 60 * 60 * 1000;
/** A `send_at` this little in the past (a client's clock running behind) means "now". */
const SEND_AT_SLACK_MS = 60_000;

/** A message as the send log holds it: what the API and the dashboard present. */
export type { MessageRow };

export type ContentInput =
  | { body: string; template_id?: undefined; variables?: undefined }
  | { body?: undefined; template_id: string; variables: Record<string, unknown> };

export type SendInput = ContentInput & {
  to: string;
  from?: string;
  metadata?: Record<string, string>;
  send_at?: string;
  smart_encoding?: boolean;
};

/** A body, or the approved version of a template with these variables. */
export async function loadContent(env: Env, caller: Caller, input: ContentInput): Promise<Content> {
  if (input.template_id === undefined) {
    return { body: input.body };
  }
  return {
    template: await servingTemplate(env, caller.tenant.id, input.template_id),
    variables: input.variables,
  };
}

/**
 * When a message may go: its `send_at` (checked), else now. Marketing inside the tenant's quiet
 * hours waits for their end as well, which the dispatcher decides by the hours it holds.
 */
export function scheduledTime(sendAt: string | undefined, now: number): number {
  if (sendAt === undefined) {
    return now;
  }
  const at = Date.parse(sendAt);
  if (at < now - SEND_AT_SLACK_MS) {
    throw new ApiError("unprocessable-entity", "send_at must not be in the past.", {
      errors: [{ pointer: "/send_at", detail: `${sendAt} has passed` }],
    });
  }
  if (at > now + MAX_SCHEDULE_MS) {
    throw new ApiError("unprocessable-entity", "send_at may be at most 35 days ahead.", {
      errors: [{ pointer: "/send_at", detail: `${sendAt} is more than 35 days away` }],
    });
  }
  return Math.max(at, now);
}

export function acceptMessage(
  env: Env,
  caller: Caller,
  input: SendInput,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  return withCurrentSettings(env, caller, (current) =>
    composeAndHandOver(env, current, input, idempotencyKey, now),
  );
}

async function composeAndHandOver(
  env: Env,
  caller: Caller,
  input: SendInput,
  idempotencyKey: string | undefined,
  now: number,
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  const { tenant } = caller;
  const [content, screen] = await Promise.all([
    loadContent(env, caller, input),
    loadScreener(env, tenant.id),
  ]);
  const composition = composeMessage(tenant, screen, input.to, content, {
    smartEncoding: input.smart_encoding ?? false,
    pointer: "",
  });
  if (!composition.ok) {
    throw refusal(composition.errors, composition.hits);
  }
  const origin: OutboxOrigin = {
    tenantId: tenant.id,
    mode: caller.mode,
    sender: input.from ?? null,
    metadata: input.metadata ?? null,
    idempotencyKey: idempotencyKey ?? null,
    createdAt: now,
    sendAt: scheduledTime(input.send_at, now),
    batchId: null,
    template: "template" in content ? content.template : null,
  };
  const message = smsOutboxMessage(origin, newId("msg", now), input.to, composition.value);
  return handOver(env, caller, message, input, idempotencyKey);
}

/**
 * Gives an accepted message to the tenant's dispatcher (one RPC; durable when it returns), with the
 * idempotency key's record; or replays the key's first answer. Throws StaleSettings when the
 * caller's copy of the tenant's settings is outdated (see withCurrentSettings).
 */
export async function handOver(
  env: Env,
  caller: Caller,
  message: OutboxMessage,
  request: unknown,
  idempotencyKey: string | undefined,
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  const result = await dispatcherOf(env, caller.tenant.id).accept({
    message,
    idempotency: idempotencyKey
      ? {
          key: idempotencyKeyOf(caller, idempotencyKey),
          requestHash: await sha256Hex(JSON.stringify(request)),
        }
      : null,
    currency: caller.tenant.currency,
    settingsVersion: caller.tenant.settingsVersion,
  });
  if (result.kind === "stale-settings") {
    throw new StaleSettings();
  }
  if (result.kind === "idempotency-conflict") {
    throw new ApiError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used with a different request body in the last 24 hours.",
      { errors: [{ pointer: "/headers/idempotency-key", detail: "reused with another body" }] },
    );
  }
  return { replayed: result.kind === "replayed", message: result.response };
}

/** The 422 for a message that breaks a rule, naming each problem (and each sensitive word). */
export function refusal(
  errors: { pointer: string; detail: string }[],
  hits?: SensitiveHit[],
): ApiError {
  const detail =
    errors.length === 1
      ? `${errors[0]?.pointer || "/"}: ${errors[0]?.detail}`
      : `${errors.length} problems with this message; see errors.`;
  return new ApiError("unprocessable-entity", detail, {
    errors,
    extensions: hits ? { hits } : undefined,
  });
}

export interface Preview {
  text: string;
  encoding: "GSM-7" | "UCS-2";
  characters: number;
  segments: number;
  cost: number;
  currency: string;
  hits: SensitiveHit[];
}

/**
 * What a message would be, without sending it. Without `to`, the account's home country is
 * assumed (for the signature and the price), and the allowed-countries rule is not applied.
 * Sensitive words are reported, not refused: showing them is the point of a preview.
 * The settings are read from D1, not from the key's cached copy: a send would be refused by the
 * dispatcher under outdated ones, a preview has no such check, and it is not on the hot path.
 */
export async function previewMessage(
  env: Env,
  caller: Caller,
  input: ContentInput & { to?: string; smart_encoding?: boolean },
): Promise<Preview> {
  const [content, screen, tenant] = await Promise.all([
    loadContent(env, caller, input),
    loadScreener(env, caller.tenant.id),
    currentSettings(env, caller),
  ]);
  const composition = composeMessage(
    tenant,
    screen,
    input.to ?? { country: tenant.homeCountry },
    content,
    { smartEncoding: input.smart_encoding ?? false, pointer: "", reportOnly: true },
  );
  if (!composition.ok) {
    throw refusal(composition.errors);
  }
  const { value } = composition;
  return {
    text: value.text,
    encoding: value.encoding,
    characters: value.characters,
    segments: value.segments,
    cost: fromMicros(value.costMicros),
    currency: tenant.currency,
    hits: value.hits,
  };
}

/**
 * Cancels a message that is scheduled or queued. 404 if it is not the caller's; 409 once it has
 * been handed to a provider.
 */
export async function cancelMessage(env: Env, caller: Caller, id: string): Promise<MessageRow> {
  const before = await getMessage(env, caller, id);
  if (before.message.status === "canceled") {
    return before.message;
  }
  const outcome = await dispatcherOf(env, caller.tenant.id).cancel(id);
  const after = await getMessage(env, caller, id);
  if (outcome.kind !== "canceled") {
    throw new ApiError(
      "conflict",
      `Message ${id} is ${after.message.status}: only scheduled or queued messages can be canceled.`,
    );
  }
  return after.message;
}

export type AttemptRow = typeof messageAttempts.$inferSelect;

/**
 * A message with its attempts, whether it is in the D1 send log yet or still only accepted. One of
 * the other mode is a 404 like a missing one: a test key never reaches a live message.
 */
export async function getMessage(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ message: MessageRow; attempts: AttemptRow[] }> {
  const found = await findInSendLogOrOutbox(env, caller, id);
  const mode = modeSeenBy(caller);
  if (!found || (mode !== null && found.message.mode !== mode)) {
    throw new ApiError("not-found", `No message ${id}.`);
  }
  return found;
}

async function findInSendLogOrOutbox(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ message: MessageRow; attempts: AttemptRow[] } | undefined> {
  const logged = await loggedMessage(env, caller, id);
  if (logged) {
    return logged;
  }
  const pending = await dispatcherOf(env, caller.tenant.id).peek(id);
  if (pending) {
    return { message: outboxView(pending), attempts: [] };
  }
  // The dispatcher answers only for what D1 lacks; it may have written this message there after
  // the read above, in which case D1 has it now. Read again rather than answer 404.
  return loggedMessage(env, caller, id);
}

async function loggedMessage(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ message: MessageRow; attempts: AttemptRow[] } | undefined> {
  const db = database(env.DB);
  const row = await findMessage(db, caller.tenant.id, id);
  if (!row) {
    return undefined;
  }
  const attempts = await db
    .select()
    .from(messageAttempts)
    .where(eq(messageAttempts.messageId, row.id))
    .orderBy(messageAttempts.attempt);
  return { message: row, attempts };
}

/** A message the D1 send log does not have yet, as the send log will show it. */
function outboxView({ message, canceled, heldUntil }: PendingMessage): MessageRow {
  return {
    ...message,
    payload: message.payload ? (JSON.parse(message.payload) as Record<string, unknown>) : null,
    status: canceled ? "canceled" : heldUntil !== null ? "scheduled" : initialStatus(message),
    statusReason: canceled ? "canceled by request" : heldUntil !== null ? QUIET_HOURS_REASON : null,
    // As the 202 said (heldView): a held message goes when the window ends.
    sendAt: heldUntil ?? message.sendAt,
    // Absent from messages accepted before they were carried (as the send log has them then).
    country: message.country ?? null,
    signName: message.signName ?? null,
    currency: message.currency ?? null,
    provider: null,
    providerMessageId: null,
    attemptCount: 0,
    claimId: null,
    claimedUntil: 0,
    updatedAt: message.createdAt,
    sentAt: null,
    completedAt: null,
  };
}

export interface ListFilters extends PageRequest {
  status?: MessageStatus;
  to?: string;
  since?: number;
  until?: number;
}

export async function listMessages(
  env: Env,
  caller: Caller,
  filters: ListFilters,
): Promise<Page<MessageRow>> {
  const conditions = [eq(messages.tenantId, caller.tenant.id)];
  const mode = modeSeenBy(caller);
  if (mode !== null) {
    conditions.push(eq(messages.mode, mode));
  }
  if (filters.status) {
    conditions.push(eq(messages.status, filters.status));
  }
  if (filters.to) {
    const phone = normalisePhone(filters.to, caller.tenant.homeCountry);
    conditions.push(eq(messages.recipient, phone.ok ? phone.e164 : filters.to));
  }
  if (filters.since !== undefined) {
    conditions.push(gte(messages.createdAt, filters.since));
  }
  if (filters.until !== undefined) {
    conditions.push(lte(messages.createdAt, filters.until));
  }
  const paging = keyset(messages.id, filters);
  const rows = await database(env.DB)
    .select()
    .from(messages)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, filters, (row) => row.id);
}
