/**
 * The send log's rows: reading a message, writing an attempt before its provider call, and the SQL
 * helpers the status writer builds its statements with. A message's status changes only through
 * the status writer (delivery/status-writer.ts).
 */
import { and, eq } from "drizzle-orm";
import { FINAL_STATUSES as FINAL } from "../domain/status-machine";
import type { AttemptOutcome, MessageStatus, SendChannel } from "../domain/vocabulary";
import { newId } from "../lib/ids";
import type { Database } from "./client";
import { messages } from "./schema";

/** The statuses a message ends in (domain/status-machine). */
export const FINAL_STATUSES: readonly MessageStatus[] = FINAL;

export type MessageRow = typeof messages.$inferSelect;

export async function findMessage(db: Database, tenantId: string, id: string) {
  return db.query.messages.findFirst({
    where: and(eq(messages.id, id), eq(messages.tenantId, tenantId)),
  });
}

export interface AttemptRecord {
  messageId: string;
  tenantId: string;
  attempt: number;
  provider: string;
  outcome: AttemptOutcome;
  reason: string | null;
  providerMessageId: string | null;
  latencyMs: number;
  createdAt: number;
}

export type AttemptChange =
  | { kind: "sent"; provider: string; providerMessageId: string }
  | { kind: "retry"; reason: string }
  | { kind: "failed"; reason: string }
  /** No provider could be called (every circuit open): no attempt happened, none is counted. */
  | { kind: "wait"; reason: string };

/** `status IN (…)`, for SQL, from statuses of the status machine (constants, never input). */
export function statusIn(statuses: readonly MessageStatus[]): string {
  return `status IN (${statuses.map((status) => `'${status}'`).join(", ")})`;
}

type SqlValue = string | number | null;

// The consumer and the receipt hook write for every message, so they write plain SQL, many rows
// to a statement: the query builder's cost, then D1's cost per statement, showed up in the send
// path's CPU profile (test/bench/RESULTS.md).
/**
 * Statements for many rows at once: `rows` (each of the same width) go into the SQL as a list of
 * value tuples, as many per statement as D1's 100 bound parameters allow besides the fixed ones,
 * which are bound before (`before`) and after (`after`) the list, as they appear in the SQL.
 */
export function rowStatements(
  d1: D1Database,
  rows: SqlValue[][],
  fixed: { before?: SqlValue[]; after?: SqlValue[] },
  sql: (tuples: string) => string,
): D1PreparedStatement[] {
  const width = rows[0]?.length ?? 1;
  const before = fixed.before ?? [];
  const after = fixed.after ?? [];
  const perStatement = Math.floor((100 - before.length - after.length) / width);
  const tuple = `(${Array(width).fill("?").join(", ")})`;
  const statements = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const text = sql(Array(chunk.length).fill(tuple).join(", "));
    statements.push(d1.prepare(text).bind(...before, ...chunk.flat(), ...after));
  }
  return statements;
}

/**
 * Writes each attempt before its provider is called, as `unknown`: should its consumer die, or
 * lose both D1 and the dispatcher that would keep the answer (queues/dispatch), the attempt is
 * left saying the truth, that the message may have gone to that provider. The next claim then
 * keeps to that provider, with the same client reference (domain/routing `nextProvider`), never
 * a fresh send that may fail over to a second one. The status writer's
 * `recordAttempts` puts the answer in its place.
 */
export async function startAttempts(
  d1: D1Database,
  calls: { message: Pick<MessageRow, "id" | "tenantId" | "attemptCount">; provider: string }[],
  now: number,
): Promise<void> {
  const statements = rowStatements(
    d1,
    calls.map(({ message, provider }) => [
      newId("att", now),
      message.id,
      message.tenantId,
      message.attemptCount,
      provider,
      "unknown",
      `no answer recorded from ${provider}: it may have sent the message`,
      0,
      now,
    ]),
    {},
    (tuples) => `INSERT OR IGNORE INTO message_attempts (id, message_id, tenant_id, attempt,
      provider, outcome, reason, latency_ms, created_at) VALUES ${tuples}`,
  );
  if (statements.length > 0) {
    await d1.batch(statements);
  }
}

/** A message a receipt (or the receipt deadline) just finished, as D1 returns it. */
export interface ReceiptChange {
  id: string;
  tenant_id: string;
  channel: SendChannel;
  recipient: string;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  cost_micros: number;
  batch_id: string | null;
  template_id: string | null;
  metadata: string | null;
  created_at: number;
  provider: string | null;
  provider_message_id: string | null;
  sent_at: number | null;
  status: "delivered" | "undelivered" | "expired";
  status_reason: string | null;
}

/** What a receipt's UPDATE returns: the `ReceiptChange` of each message it finished. */
export const RECEIPT_CHANGE_COLUMNS = `messages.id, messages.tenant_id, messages.channel, messages.recipient,
  messages.segments, messages.encoding, messages.cost_micros, messages.batch_id,
  messages.template_id, messages.metadata, messages.created_at, messages.provider,
  messages.provider_message_id, messages.sent_at, messages.status, messages.status_reason`;
