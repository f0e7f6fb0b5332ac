/**
 * Sending and reading messages: the rules every entry point (API, dashboard) goes through.
 */
import { and, desc, eq, gte, lt, lte } from "drizzle-orm";
import { database } from "../db/client";
import { findMessage, type MessageRow } from "../db/message-log";
import { type MessageStatus, messageAttempts, messages } from "../db/schema";
import { normalisePhone } from "../domain/phone";
import { segmentsOf } from "../domain/segments";
import {
  type AcceptedMessage,
  acceptedView,
  type OutboxMessage,
} from "../durable-objects/dispatcher-types";
import { sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { ApiError } from "../lib/problem";
import type { Caller } from "../middleware/context";
import { dispatcherOf } from "./dispatcher";

export interface SendInput {
  to: string;
  body: string;
  from?: string;
  metadata?: Record<string, string>;
}

export async function acceptMessage(
  env: Env,
  caller: Caller,
  input: SendInput,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  const { tenant } = caller;
  const phone = normalisePhone(input.to, tenant.homeCountry);
  if (!phone.ok) {
    throw new ApiError("unprocessable-entity", phone.error.detail, {
      errors: [{ pointer: "/to", detail: phone.error.detail }],
    });
  }
  if (!tenant.allowedCountries.includes(phone.country)) {
    const detail = `Sending to ${phone.country} is not enabled for this account (allowed: ${tenant.allowedCountries.join(", ")}).`;
    throw new ApiError("unprocessable-entity", detail, { errors: [{ pointer: "/to", detail }] });
  }
  const count = segmentsOf(input.body);
  const message: OutboxMessage = {
    id: newId("msg", now),
    tenantId: tenant.id,
    channel: "sms",
    recipient: phone.e164,
    sender: input.from ?? null,
    body: input.body,
    metadata: input.metadata ?? null,
    mode: caller.mode,
    segments: count.segments,
    encoding: count.encoding,
    idempotencyKey: idempotencyKey ?? null,
    createdAt: now,
    sendAt: now,
  };
  const result = await dispatcherOf(env, tenant.id).accept({
    message,
    idempotency: idempotencyKey
      ? { key: idempotencyKey, requestHash: await sha256Hex(JSON.stringify(input)) }
      : null,
  });
  if (result.kind === "idempotency-conflict") {
    throw new ApiError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used with a different request body in the last 24 hours.",
      { errors: [{ pointer: "/headers/idempotency-key", detail: "reused with another body" }] },
    );
  }
  return result.kind === "replayed"
    ? { replayed: true, message: result.response }
    : { replayed: false, message: acceptedView(message) };
}

export type AttemptRow = typeof messageAttempts.$inferSelect;

/** A message with its attempts, whether it is in the D1 send log yet or still only accepted. */
export async function getMessage(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ message: MessageRow; attempts: AttemptRow[] }> {
  const db = database(env.DB);
  const row = await findMessage(db, caller.tenant.id, id);
  if (row) {
    const attempts = await db
      .select()
      .from(messageAttempts)
      .where(eq(messageAttempts.messageId, row.id))
      .orderBy(messageAttempts.attempt);
    return { message: row, attempts };
  }
  const pending = await dispatcherOf(env, caller.tenant.id).peek(id);
  if (!pending) {
    throw new ApiError("not-found", `No message ${id}.`);
  }
  return {
    message: {
      ...pending,
      status: pending.sendAt > pending.createdAt ? "scheduled" : "queued",
      statusReason: null,
      provider: null,
      providerMessageId: null,
      attemptCount: 0,
      claimId: null,
      claimedUntil: 0,
      updatedAt: pending.createdAt,
      sentAt: null,
      completedAt: null,
    },
    attempts: [],
  };
}

export interface ListFilters {
  status?: MessageStatus;
  to?: string;
  since?: number;
  until?: number;
  limit: number;
  cursor?: string;
}

export async function listMessages(
  env: Env,
  caller: Caller,
  filters: ListFilters,
): Promise<{ data: MessageRow[]; nextCursor: string | null }> {
  const conditions = [eq(messages.tenantId, caller.tenant.id)];
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
  if (filters.cursor) {
    conditions.push(lt(messages.id, filters.cursor));
  }
  const rows = await database(env.DB)
    .select()
    .from(messages)
    .where(and(...conditions))
    .orderBy(desc(messages.id))
    .limit(filters.limit + 1);
  const page = rows.slice(0, filters.limit);
  const last = page.at(-1);
  return { data: page, nextCursor: rows.length > filters.limit && last ? last.id : null };
}
