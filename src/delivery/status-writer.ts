/**
 * The one writer of a message's status: every change of it (a consumer's claim and its outcome,
 * a dead letter, a carrier's or WeChat's receipt, the receipt deadline, a cancel, the SMS
 * fallback) is written here.
 *
 * Guarantees: each write moves a status only as the status machine allows (domain/status-machine:
 * its guard is `status IN` the statuses the table lets reach the new one, narrowed where a write
 * says so), so duplicate and out-of-order events (queue redelivery, late receipts) change nothing;
 * the webhook events a change announces (`message.sent|delivered|undelivered|failed|expired`)
 * are rows of the change's own D1 batch, written only where the change happened
 * (status-writer/events.ts), and their queue jobs follow the batch (a job lost there is queued
 * again by housekeeping, as the delivery row is written). Costs no D1 round trip per
 * message: each call is one batch for all its messages (a read before it where the events need
 * the message and the caller does not have it: a dead letter, an expiry sweep with subscribers).
 * One exception to events in the batch: a held receipt that the hold itself applies (its send was
 * recorded between the caller's look-up and the hold) names no message the caller knew, so its
 * event follows the batch, as D1 returns the message.
 * Never: moves a status back, or writes a move the table does not list.
 *
 * This file is the door; the writes live in status-writer/ by what brings them (the send path,
 * receipts, the ends that come without a send result, the SMS fallback), and nothing else imports
 * those (test/lint/layers.cjs). The statistics and the audit log hook in there, once: the
 * rollups (stat_rollups, stat_latencies, stat_errors) are kept by triggers on `messages`
 * (migration 0027; 0042 for stat_latencies), which fire inside these writes' own guarded
 * statements, so a write that moves nothing counts nothing (why triggers, not extra statements:
 * 0027's comment).
 * The live message list and overview hook in here too, in this file: every write that moves a
 * status (a claim, a send result, a receipt, a dead letter, an expiry, a cancel) notes its
 * changes, and the tenant's desk object hears that messages changed (delivery/live-updates: once
 * a second per tenant per isolate at most, after the caller's work through `waitUntil`, so the
 * send path never waits for it, and never failing the write). The SMS fallback's switches are
 * not noted: the message stays `sending`/`sent` until the claim or result that follows.
 */
import { database } from "../db/client";
import type { MessageRow } from "../db/message-log";
import { noteMessagesChangedSoon } from "./live-updates";
import {
  cancelLogged as cancelLoggedOnly,
  type DeadLetterOutcome,
  expireOverdue as expireOverdueOnly,
  failUnlessDone as failUnlessDoneOnly,
} from "./status-writer/ends";
import {
  claimForSending as claimForSendingOnly,
  type OutcomeRecord,
  recordAttempts as recordAttemptsOnly,
} from "./status-writer/outcomes";
import {
  applyReceipts as applyReceiptsOnly,
  holdReceipts as holdReceiptsOnly,
} from "./status-writer/receipts";

export type { DeadLetterOutcome } from "./status-writer/ends";
export { CANCELED_REASON } from "./status-writer/ends";
export { fallBackToSms, SMS_FALLBACK_CLAIM, switchToSms } from "./status-writer/fallback";
export type { OutcomeRecord } from "./status-writer/outcomes";
export type { ReceiptToApply } from "./status-writer/receipts";

// Each write below notes its changes for the live pages once it is done: counted at once, told to
// the desk after the caller's work (delivery/live-updates `noteMessagesChangedSoon`).

/** Takes messages for sending (status-writer/outcomes), then notes the ones taken. */
export async function claimForSending(
  env: Env,
  sendLog: D1Database,
  ids: string[],
  claimId: string,
  now: number,
  claimMs: number,
  smsReleases?: ReadonlySet<string>,
): Promise<MessageRow[]> {
  const claimed = await claimForSendingOnly(
    database(sendLog),
    ids,
    claimId,
    now,
    claimMs,
    smsReleases,
  );
  noteMessagesChangedSoon(
    env,
    claimed.map((m) => m.tenantId),
  );
  return claimed;
}

/** Records the send results (sent, failed, retry), then notes them. */
export async function recordAttempts(
  env: Env,
  sendLog: D1Database,
  records: readonly OutcomeRecord[],
): Promise<void> {
  await recordAttemptsOnly(env, sendLog, records);
  noteMessagesChangedSoon(
    env,
    records.map((r) => r.message.tenantId),
  );
}

/** Applies receipts to known messages, then notes the ones that changed. */
export async function applyReceipts(
  ...args: Parameters<typeof applyReceiptsOnly>
): Promise<boolean[]> {
  const changed = await applyReceiptsOnly(...args);
  noteMessagesChangedSoon(
    args[0],
    changed.filter(Boolean).map(() => args[2].tenantId),
  );
  return changed;
}

/** Holds or applies receipts that came before their send, then notes what changed. */
export async function holdReceipts(
  ...args: Parameters<typeof holdReceiptsOnly>
): Promise<{ changed: boolean[]; recorded: boolean[] }> {
  const result = await holdReceiptsOnly(...args);
  noteMessagesChangedSoon(
    args[0],
    result.changed.filter(Boolean).map(() => args[2].tenantId),
  );
  return result;
}

/** Fails a dead-lettered message unless it is done or held (status-writer/ends), then notes it. */
export async function failUnlessDone(
  env: Env,
  sendLog: D1Database,
  id: string,
  reason: string,
  now: number,
): Promise<DeadLetterOutcome> {
  const { outcome, movedFor } = await failUnlessDoneOnly(env, sendLog, id, reason, now);
  if (movedFor !== null) {
    noteMessagesChangedSoon(env, [movedFor]);
  }
  return outcome;
}

/**
 * Expires the tenant's overdue sent messages (status-writer/ends), notes them, and says when the
 * next of its sent messages will be overdue (null: none waits).
 */
export async function expireOverdue(
  env: Env,
  sendLog: D1Database,
  tenantId: string,
  now: number,
  deadlineMs: number,
): Promise<number | null> {
  const { next, expired } = await expireOverdueOnly(env, sendLog, tenantId, now, deadlineMs);
  noteMessagesChangedSoon(env, new Array<string>(expired).fill(tenantId));
  return next;
}

/** Cancels logged messages no consumer took (status-writer/ends); returns and notes how many. */
export async function cancelLogged(
  env: Env,
  sendLog: D1Database,
  which: { ids: string[] } | { tenantId: string; batchId: string },
  now: number,
): Promise<number> {
  const canceled = await cancelLoggedOnly(sendLog, which, now);
  noteMessagesChangedSoon(env, canceled);
  return canceled.length;
}
