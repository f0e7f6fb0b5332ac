/**
 * TenantDispatcher: one per tenant (`idFromName("tenant:" + tenantId)`), the single writer of the
 * tenant's outbound traffic.
 *
 * Receives: `accept()` from the API (one call per accepted request), `stageBatch()` and
 * `commitBatch()` for a batch (a few large calls, never one per recipient), `cancel()` and
 * `cancelBatch()`, `reportResults()` from the dispatch consumers (one call per queue batch; it
 * hands back the SMS fallback of a message WeChat refused at send time), `keepOutcomes()` from a
 * consumer that could not record its providers' answers in D1,
 * `fallBackToSms()` from a WeChatAccount whose template message WeChat reported undelivered,
 * `configure()` when the tenant's settings change, `peek()`/`peekBatch()` for what is not yet
 * in the D1 send log, `wake()` from housekeeping, and its own alarms.
 * Guarantees: when `accept()` or `commitBatch()` returns, the messages are in this object's SQLite
 * outbox, so they are never lost, unless they were composed under settings older than the last
 * configured, which are refused; a staged batch that is never committed is never sent; an
 * idempotency key replays its first answer for 24 h; messages to one recipient in one lane are
 * released in acceptance order, and none while another to that recipient awaits its send result;
 * each release tick serves the transactional lane first and the bulk lane (batches, marketing)
 * with what is left; across recipients, releases are fair (start-time fair queuing) and keep to
 * the tenant's send rate; marketing waits while its recipient's country is inside the tenant's
 * quiet hours; a sent message without a receipt by the deadline ends `expired`; an outcome given
 * to `keepOutcomes()` reaches D1 once D1 takes it; an SMS fallback is released as any message is
 * (in order behind its phone's earlier messages, at the tenant's rate), by a queue job that names
 * it as such, and one whose hand-over was lost is found by the sweep of stale releases. Every
 * alarm step is idempotent, so an alarm may
 * run twice. A call that lands while a run awaits D1 or the queue keeps the wake-up it asked for,
 * and a run that fails (D1 down) sets its own retry: however long an outage lasts, nothing
 * accepted is left without an alarm.
 * Never: calls a provider, or releases a message before it is written to the D1 send log.
 */
import { DurableObject } from "cloudflare:workers";
import { settingsOf } from "../../config/settings";
import {
  type AcceptRequest,
  type AcceptResult,
  acceptedView,
  type BatchRecord,
  type CancelOutcome,
  type CommitResult,
  type FallbackRequest,
  heldView,
  type OutboxMessage,
  outboxMessageOfLogged,
  type PendingMessage,
  type SendResult,
} from "../../delivery/dispatcher-types";
import { type DispatchJob, dispatchJobSchema } from "../../delivery/payloads";
import { cancelLogged, fallBackToSms, type OutcomeRecord } from "../../delivery/status-writer";
import type { QuietHours } from "../../domain/quiet-hours";
import { backoffSeconds } from "../../lib/backoff";
import {
  cancelUnlogged,
  commitStaged,
  dropAbandonedStages,
  dropLoggedPending,
  dropStaged,
  forgetCommittedBatches,
  isCommitted,
  markStoredBatchCanceled,
  STAGED_TTL_MS,
  storedBatch,
} from "./batch-outbox";
import { forgetExpiredKeys, priorAnswer, rememberAnswer } from "./idempotency";
import {
  keptOutcomesRetryAt,
  migrateKeptOutcomes,
  storeOutcomes,
  writeKeptOutcomes,
} from "./kept-outcomes";
import { DispatcherMeta } from "./meta";
import { bulkWindow, flushBatches, flushToSendLog } from "./outbox-flush";
import {
  cancelUnloggedMessage,
  deleteMessage,
  deleteMessages,
  insertMessage,
  messageState,
  nextAlarmAt,
  stageMessages,
  takeBackLogged,
  unloggedMessage,
  waitsOutQuietHours,
} from "./outbox-queries";
import { migrateOutbox } from "./outbox-schema";
import { reconcileStaleReleases, sweepExpired } from "./overdue";
import { holdBatch } from "./quiet-holds";
import { RELEASE_TICK_MS, releaseDue, releaseHeld } from "./releases";
import { markBatchCanceled } from "./send-log";

/** Accepts within this window share one alarm run: one D1 write and one queue batch for all. */
const COALESCE_MS = 250;
const IDEMPOTENCY_PRUNE_EVERY_MS = 60_000;
/** After a failed run, the next one is tried within a second, then less often, up to a minute. */
const RETRY_BACKOFF = { baseSeconds: 1, maxSeconds: 60 };
const QUEUE_BATCH = 100; // Queues' sendBatch limit

export class TenantDispatcher extends DurableObject<Env> {
  // Storage, alarms, bindings and the clock are always reached through `this.sql`, `this.ctx`,
  // `this.env` and `this.clock` at the time of use (the helpers take them as arguments), so tests
  // may swap them on an instance.
  private readonly sql: SqlStorage;
  private readonly clock: () => number = () => Date.now();
  /** Values of the `meta` table, cached; holds no storage of its own. */
  private readonly meta = new DispatcherMeta();
  /** In-memory copy of the alarm, read once per instance. */
  private alarmAt: number | null | undefined;
  private prunedAt = 0;
  private failedRuns = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateOutbox(this.sql);
    migrateKeptOutcomes(this.sql);
  }

  /**
   * Appends a message to the outbox, or replays the answer an idempotency key already got; refuses
   * one composed under settings older than the last configured (the caller composes it again).
   * Marketing inside the quiet hours is held, and its answer says until when. After the quiet
   * hours are read (from D1 only on an instance's first marketing message) the method is
   * synchronous SQL, so it commits as one transaction before the caller hears back.
   */
  async accept(request: AcceptRequest): Promise<AcceptResult> {
    const { message, idempotency } = request;
    // Named first: the quiet hours are read from its row.
    this.meta.rememberTenant(this.sql, message.tenantId);
    const quiet = waitsOutQuietHours(message)
      ? await this.meta.quietHours(this.sql, this.env.DB)
      : null;
    const now = this.clock();
    if (idempotency) {
      const prior = priorAnswer(this.sql, idempotency, now);
      if (prior) {
        return prior;
      }
    }
    if (request.settingsVersion < this.meta.settingsVersion(this.sql)) {
      return { kind: "stale-settings" };
    }
    const held = insertMessage(this.sql, this.meta, message, now, quiet);
    const accepted = acceptedView(message, request.currency);
    const response = held === null ? accepted : heldView(accepted, held);
    if (idempotency) {
      rememberAnswer(this.sql, idempotency, response, now);
    }
    await this.wakeAt(now + COALESCE_MS);
    return { kind: "accepted", response };
  }

  /**
   * Stores part of a batch, invisible until `commitBatch()`: an upload that fails half-way sends
   * nothing, and its staged rows are dropped after STAGED_TTL_MS. Staging rows again is harmless,
   * and staging a batch committed already stores nothing (a retried upload). A part composed
   * under settings older than the last configured (`settingsVersion`, which the commit checks in
   * any case) is refused with what was staged of its batch, so the sender composes the batch
   * again before it has composed all of it.
   */
  async stageBatch(part: {
    tenantId: string;
    messages: OutboxMessage[];
    settingsVersion?: number;
  }): Promise<number | "stale-settings"> {
    const now = this.clock();
    this.meta.rememberTenant(this.sql, part.tenantId);
    // Asked once per batch, not per row: a part is thousands of rows of one batch.
    const committed = new Map<string, boolean>();
    const wasCommitted = (batchId: string) => {
      if (!committed.has(batchId)) {
        committed.set(batchId, isCommitted(this.sql, batchId));
      }
      return committed.get(batchId) === true;
    };
    const fresh = part.messages.filter((m) => m.batchId === null || !wasCommitted(m.batchId));
    if (
      part.settingsVersion !== undefined &&
      part.settingsVersion < this.meta.settingsVersion(this.sql)
    ) {
      for (const batchId of new Set(fresh.map((m) => m.batchId))) {
        if (batchId !== null) {
          dropStaged(this.sql, batchId);
        }
      }
      return "stale-settings";
    }
    stageMessages(this.sql, this.meta, fresh, now);
    await this.wakeAt(now + STAGED_TTL_MS);
    return part.messages.length;
  }

  /**
   * Makes a staged batch sendable, in one transaction, and keeps its record for the D1 log; a
   * marketing batch's messages inside the quiet hours are held at once. `incomplete`, changing
   * nothing, if the staged rows are not all there (the upload took longer than the TTL);
   * `committed`, changing nothing, if the batch was committed already. `settingsVersion`: the
   * tenant's settings the batch was composed under; older than the last configured, its staged
   * rows are dropped (see CommitResult).
   */
  async commitBatch(record: BatchRecord, settingsVersion: number): Promise<CommitResult> {
    const quiet =
      record.kind === "marketing" ? await this.meta.quietHours(this.sql, this.env.DB) : null;
    if (isCommitted(this.sql, record.id)) {
      return "committed";
    }
    if (settingsVersion < this.meta.settingsVersion(this.sql)) {
      dropStaged(this.sql, record.id);
      return "stale-settings";
    }
    if (!commitStaged(this.sql, record, this.clock())) {
      return "incomplete";
    }
    if (quiet) {
      holdBatch(this.sql, record, quiet, this.clock());
    }
    if (record.kind === "marketing") {
      this.meta.recheckQuietHours();
    }
    await this.wakeAt(this.clock());
    return "committed";
  }

  /**
   * The tenant's settings changed: from now on a message composed under an older version is
   * refused, and a new send rate (0 pauses releasing) or new quiet hours (null turns them off)
   * apply; a setting left out is unchanged. Two changes' calls may come in either order: one
   * older than the version configured is ignored.
   */
  async configure(settings: {
    tenantId: string;
    settingsVersion?: number;
    sendRate?: number;
    quietHours?: QuietHours | null;
  }): Promise<void> {
    this.meta.rememberTenant(this.sql, settings.tenantId);
    const current =
      settings.quietHours === undefined
        ? undefined
        : await this.meta.quietHours(this.sql, this.env.DB);
    const version = settings.settingsVersion;
    if (version !== undefined && version < this.meta.settingsVersion(this.sql)) {
      return;
    }
    if (version !== undefined) {
      this.meta.setSettingsVersion(this.sql, version);
    }
    if (settings.sendRate !== undefined) {
      this.meta.setSendRate(this.sql, settings.sendRate);
    }
    if (
      settings.quietHours !== undefined &&
      JSON.stringify(settings.quietHours) !== JSON.stringify(current)
    ) {
      this.meta.setQuietHours(this.sql, settings.quietHours);
      releaseHeld(this.sql, this.meta);
    }
    await this.wakeAt(this.clock());
  }

  /** A message that is accepted but not yet in the D1 send log, or null. */
  async peek(id: string): Promise<PendingMessage | null> {
    return unloggedMessage(this.sql, id);
  }

  /** A committed batch whose record is not yet in D1, or null. */
  async peekBatch(id: string): Promise<BatchRecord | null> {
    return storedBatch(this.sql, id);
  }

  /**
   * Cancels a message that has not been released to a provider. One still on the queue is
   * canceled in D1 before a consumer claims it (the claim only takes queued messages).
   */
  async cancel(id: string): Promise<CancelOutcome> {
    const row = messageState(this.sql, id);
    if (!row || row.state === "staged") {
      return { kind: "not-found" };
    }
    if (row.state === "canceled") {
      return { kind: "canceled" };
    }
    if (row.logged === 0) {
      // Not in D1 yet: the flush writes it as canceled.
      cancelUnloggedMessage(this.sql, id);
      await this.wakeAt(this.clock());
      return { kind: "canceled" };
    }
    const canceled = await cancelLogged(this.env.DB, { ids: [id] }, this.clock());
    if (canceled === 0) {
      return { kind: "too-late" };
    }
    if (row.state === "pending" || row.state === "held") {
      deleteMessage(this.sql, id);
    }
    // A released one leaves when its consumer finds it canceled and reports back.
    return { kind: "canceled" };
  }

  /** Cancels every message of the batch not yet released; returns how many. */
  async cancelBatch(batchId: string): Promise<number> {
    const now = this.clock();
    const tenantId = this.meta.tenantId(this.sql);
    if (!tenantId) {
      return 0;
    }
    const unlogged = cancelUnlogged(this.sql, batchId);
    if (!markStoredBatchCanceled(this.sql, batchId, now)) {
      await markBatchCanceled(this.env.DB, tenantId, batchId, now);
    }
    const logged = await cancelLogged(this.env.DB, { tenantId, batchId }, now);
    // Canceled in D1 above, so the pending ones need no release; released ones report back.
    dropLoggedPending(this.sql, batchId);
    await this.wakeAt(now);
    return unlogged + logged;
  }

  /**
   * Send results from the consumers: the recipient's next message may go, and a sent message's
   * receipt deadline needs a sweep by then. A message WeChat gave up on comes back as its SMS
   * fallback, taken back to be released like any other (behind its phone's earlier messages).
   */
  async reportResults(results: SendResult[]): Promise<void> {
    const now = this.clock();
    const done: string[] = [];
    for (const result of results) {
      if (result.outcome === "sms-fallback") {
        this.meta.rememberTenant(this.sql, result.message.tenantId);
        takeBackLogged(this.sql, this.meta, { ...result.message, sendAt: now });
      } else {
        done.push(result.id);
      }
    }
    deleteMessages(this.sql, done);
    if (results.some((result) => result.outcome === "sent")) {
      this.meta.expectReceiptBy(
        this.sql,
        now + settingsOf(this.env).RECEIPT_DEADLINE_SECONDS * 1000,
      );
    }
    await this.wakeAt(now + COALESCE_MS);
  }

  /**
   * Send outcomes a consumer could not record in D1: kept here once this returns, and written to
   * D1 from the alarm until D1 takes them.
   */
  async keepOutcomes(records: OutcomeRecord[]): Promise<void> {
    const now = this.clock();
    storeOutcomes(this.sql, records, now);
    await this.wakeAt(keptOutcomesRetryAt(this.sql, now) ?? now);
  }

  /**
   * A template message WeChat reported undelivered becomes its SMS fallback in the send log (the
   * status writer's `fallBackToSms`; it stays `sent` until the SMS has a result), and the outbox
   * takes it back, to be released like any message: behind earlier messages to its phone, at the
   * tenant's rate. Safe to call again (the WeChatAccount retries until this returns): a message
   * still waiting for its SMS is taken back once. Returns whether it waits for its SMS.
   */
  async fallBackToSms(request: FallbackRequest): Promise<boolean> {
    this.meta.rememberTenant(this.sql, request.tenantId);
    const now = this.clock();
    const waiting = await fallBackToSms(
      this.env.DB,
      request,
      request.fallback,
      request.reason,
      now,
    );
    if (!waiting) {
      return false;
    }
    takeBackLogged(this.sql, this.meta, outboxMessageOfLogged(waiting, now));
    await this.wakeAt(now);
    return true;
  }

  /** Runs the alarm loop soon (housekeeping's safety net). */
  async wake(): Promise<void> {
    await this.wakeAt(this.clock());
  }

  /**
   * One run of the loop, then the next alarm. A run that fails (D1 or the queue down) sets its own
   * retry, with backoff, and returns: thrown, the runtime would retry it a few times and then drop
   * the alarm with the outbox unsent. Every step is idempotent, so a retried run redoes nothing.
   */
  async alarm(): Promise<void> {
    // The alarm that woke us is spent. One set from here on was asked for by a call that came in
    // while this run awaited D1 or the queue (the object takes calls then): see setNextAlarm.
    this.alarmAt = null;
    const now = this.clock();
    let next: number | undefined;
    try {
      next = await this.runLoop(now);
      this.failedRuns = 0;
    } catch (error) {
      this.failedRuns++;
      console.error(`dispatcher: alarm run failed (${this.failedRuns} in a row), retrying`, error);
      next = now + 1000 * backoffSeconds(this.failedRuns, RETRY_BACKOFF);
    }
    await this.setNextAlarm(next);
  }

  /** Logs, sweeps, reconciles and releases; returns when the outbox next needs a run. */
  private async runLoop(now: number): Promise<number | undefined> {
    // First: what it finds written is what the reconciling below reads.
    await writeKeptOutcomes(this.sql, this.env);
    await flushBatches(this.sql, this.env.DB);
    const moreToLog = await flushToSendLog(this.sql, this.env.DB, this.meta, now);
    await sweepExpired(this.sql, this.env, this.meta, now);
    const retry = await reconcileStaleReleases(this.sql, this.env, this.meta, now);
    if (retry) {
      await this.enqueue(retry.ids, retry.smsFallbacks);
    }
    const release = await releaseDue(this.sql, this.env.DB, this.meta, now);
    if (release.ids) {
      await this.enqueue(release.ids, release.smsFallbacks);
    }
    this.pruneIdempotency(now);
    dropAbandonedStages(this.sql, now);
    const end = this.clock();
    return nextAlarmAt(this.sql, this.meta, end, {
      moreToLog,
      logBy: end + COALESCE_MS,
      nextTick: release.rateLimited ? end + RELEASE_TICK_MS : undefined,
      releaseTimeoutMs: settingsOf(this.env).RELEASE_TIMEOUT_SECONDS * 1000,
      bulkWindow: bulkWindow(await this.meta.sendRate(this.sql, this.env.DB)),
    });
  }

  private pruneIdempotency(now: number): void {
    if (now - this.prunedAt < IDEMPOTENCY_PRUNE_EVERY_MS) {
      return;
    }
    this.prunedAt = now;
    forgetExpiredKeys(this.sql, now);
    forgetCommittedBatches(this.sql, now);
  }

  /** Puts released messages on the queue; `smsFallbacks` go as their SMS fallback's release. */
  private async enqueue(ids: string[], smsFallbacks: ReadonlySet<string>): Promise<void> {
    const tenantId = this.meta.tenantId(this.sql);
    if (!tenantId || ids.length === 0) {
      return;
    }
    for (let i = 0; i < ids.length; i += QUEUE_BATCH) {
      const jobs = ids.slice(i, i + QUEUE_BATCH).map(
        (messageId): MessageSendRequest<DispatchJob> => ({
          body: dispatchJobSchema.parse({
            v: 1,
            tenant_id: tenantId,
            message_id: messageId,
            ...(smsFallbacks.has(messageId) ? { sms_fallback: true } : {}),
          }),
          contentType: "json",
        }),
      );
      await this.env.DISPATCH_QUEUE.sendBatch(jobs);
    }
  }

  /**
   * Sets the alarm a run ends with: `at` (from the outbox), or the earlier time a call asked for
   * during the run, never later. Without either, nothing waits and no alarm is left.
   */
  private async setNextAlarm(at: number | undefined): Promise<void> {
    const requested = this.alarmAt ?? undefined;
    const next = requested === undefined || (at !== undefined && at < requested) ? at : requested;
    if (next === undefined) {
      await this.ctx.storage.deleteAlarm();
      this.alarmAt = null;
    } else if (next !== requested) {
      await this.setAlarmAt(next);
    }
  }

  /** Brings the alarm forward to `at` (never pushes it back). */
  private async wakeAt(at: number): Promise<void> {
    if (this.alarmAt === undefined) {
      this.alarmAt = await this.ctx.storage.getAlarm();
    }
    if (this.alarmAt === null || this.alarmAt > at) {
      await this.setAlarmAt(at);
    }
  }

  private async setAlarmAt(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
    this.alarmAt = at;
  }
}
