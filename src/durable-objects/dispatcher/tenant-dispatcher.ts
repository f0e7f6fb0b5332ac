/**
 * TenantDispatcher: one per tenant (`idFromName("tenant:" + tenantId)`), the single writer of the
 * tenant's outbound traffic.
 *
 * Receives: `accept()` from the API (one call per accepted request), `stageBatch()` and
 * `commitBatch()` for a batch (a few large calls, never one per recipient), `cancel()` and
 * `cancelBatch()`, `reportResults()` from the dispatch consumers (one call per queue batch, which
 * also hands back the SMS fallback of a message WeChat refused at send time), `keepOutcomes()`
 * from a consumer that could not record its providers' answers in D1, `fallBackToSms()` from a
 * WeChatAccount whose template message WeChat reported undelivered, `configure()` when the
 * tenant's settings change, `peek()`/`peekBatch()` for what is not yet in the D1 send log,
 * `wake()` from housekeeping, `setOptOut()` for the tenant's opted-out numbers, and its
 * own alarms.
 * Guarantees: when `accept()` or `commitBatch()` returns, the messages are in this object's SQLite
 * outbox, so they are never lost, unless they were composed under settings older than the last
 * configured, which are refused; a staged batch that is never committed is never sent; an
 * idempotency key replays its first answer for 24 h; messages to one recipient in one lane are
 * released in acceptance order, and none while another to that recipient awaits its send result;
 * each release tick serves the transactional lane first and the bulk lane (batches, marketing)
 * with what is left; across recipients, releases are fair (start-time fair queuing) and keep to
 * the tenant's send rate, and nothing is released while the platform admin has the tenant
 * suspended (it waits in the outbox until resumed); marketing waits while its recipient's country is inside the tenant's
 * quiet hours; a sent message without a receipt by the deadline ends `expired`; an outcome given
 * to `keepOutcomes()` reaches D1 once D1 takes it; an SMS fallback is released as any message is
 * (in order behind its phone's earlier messages, at the tenant's rate), by a queue job that names
 * it as such, and one whose hand-over was lost is found by the sweep of stale releases. Every
 * alarm step is idempotent, so an alarm may run twice. A call that lands while a run awaits D1 or
 * the queue keeps the wake-up it asked for, and a run that fails (D1 down) sets its own retry:
 * however long an outage lasts, nothing accepted is left without an alarm.
 * An SMS to a number that opted out is refused unless its request says it is exempt.
 * A live message or batch whose estimated cost would pass the tenant's monthly budget or its
 * prepaid balance is refused, checked and charged in the same transaction that accepts it
 * (budget.ts); a cancel before sending gives the charge back.
 * Never: calls a provider, or releases a message before it is written to the D1 send log.
 *
 * This file is the RPC surface; the alarm loop is alarm-loop.ts, what comes back after a release
 * (results, kept outcomes, SMS fallbacks) send-results.ts, and the outbox's tables and queries
 * the other files of this folder.
 */
import { DurableObject } from "cloudflare:workers";
import { acceptRouted } from "../../delivery/dispatcher";
import {
  type AcceptRequest,
  type AcceptResult,
  acceptedView,
  type BatchBudget,
  type BatchRecord,
  type CancelOutcome,
  type CommitResult,
  type FallbackRequest,
  heldView,
  type OutboxMessage,
  type PendingMessage,
  type SendResult,
} from "../../delivery/dispatcher-types";
import type { OutcomeRecord } from "../../delivery/status-writer";
import { emitEvents } from "../../delivery/webhook-events";
import type { BudgetPolicy, BudgetUsage } from "../../domain/budget";
import { shardOf } from "../../domain/dispatch-shards";
import type { QuietHours } from "../../domain/quiet-hours";
import { createLogger } from "../../lib/log";
import { firstRow } from "../../lib/sql-rows";
import { AlarmLoop, COALESCE_MS, type LoopParts } from "./alarm-loop";
import {
  commitStaged,
  dropStaged,
  dropStagedMessages,
  isCommitted,
  notCommitted,
  STAGED_TTL_MS,
  stagedCharges,
  stagedCount,
  storedBatch,
} from "./batch-outbox";
import {
  applyCharges,
  budgetCutOf,
  budgetUsage,
  type Charge,
  forgetBudgetEvents,
  migrateBudget,
  pendingBudgetEvents,
  planCharges,
  rememberBudgetCut,
  type TopUp,
  topUpBalance,
} from "./budget";
import { cancelBatchMessages, cancelMessage } from "./cancels";
import {
  forgetForward,
  forwardedHash,
  migrateForwards,
  priorAnswer,
  rememberAnswer,
  rememberForward,
} from "./idempotency";
import { migrateKeptOutcomes } from "./kept-outcomes";
import { DispatcherMeta } from "./meta";
import { migrateOptOuts, OptOutCopy } from "./opt-outs";
import {
  insertMessage,
  stageMessages,
  unloggedMessage,
  waitsOutQuietHours,
} from "./outbox-queries";
import { migrateOutbox } from "./outbox-schema";
import { holdBatch } from "./quiet-holds";
import { releaseHeld } from "./releases";
import { continueRetention } from "./retention";
import { keepForD1, takeBackUndelivered, takeResults } from "./send-results";

export class TenantDispatcher extends DurableObject<Env> {
  // Storage, alarms, bindings and the clock are always reached through `this.sql`, `this.ctx`,
  // `this.env` and `this.clock` at the time of use (the helpers take them as arguments), so tests
  // may swap them on an instance.
  private readonly sql: SqlStorage;
  private readonly clock: () => number = () => Date.now();
  /** Values of the `meta` table, cached; holds no storage of its own. */
  private readonly meta = new DispatcherMeta();
  /** The alarm as this instance knows it, and the loop's memory between runs. */
  private readonly loop = new AlarmLoop();
  /** The tenant's opted-out numbers (opt-outs.ts); holds no storage of its own. */
  private readonly optOuts = new OptOutCopy();
  /** Keys the home shard is forwarding (acceptAsHome): one request per key at a time. */
  private readonly forwarding = new Map<string, Promise<AcceptResult>>();
  private forwardsReady = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateOutbox(this.sql);
    migrateKeptOutcomes(this.sql);
    migrateOptOuts(this.sql);
    migrateBudget(this.sql);
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
    if (request.shard !== undefined) {
      this.meta.rememberShard(this.sql, request.shard);
    }
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
    if (
      message.channel === "sms" &&
      !request.optOutExempt &&
      this.optOuts.isOptedOut(this.sql, message.recipient)
    ) {
      return { kind: "opted-out" };
    }
    const policy = request.budget ?? { limitMicros: null, zone: "UTC", currency: request.currency };
    const charges: Charge[] =
      message.mode === "live" ? [{ id: message.id, costMicros: message.costMicros }] : [];
    const plan = planCharges(this.sql, policy, charges, now);
    if (plan.refusal) {
      return { kind: "over-budget", refusal: plan.refusal };
    }
    const held = insertMessage(this.sql, this.meta, message, now, quiet);
    const announce = applyCharges(
      this.sql,
      { ...policy, tenantId: message.tenantId },
      plan,
      charges,
      now,
    );
    const accepted = acceptedView(message, request.currency);
    const response = held === null ? accepted : heldView(accepted, held);
    if (idempotency) {
      rememberAnswer(this.sql, idempotency, response, now);
    }
    await this.wakeAt(now + COALESCE_MS);
    if (announce) {
      await this.announceBudget();
    }
    return { kind: "accepted", response };
  }

  /**
   * While the tenant's shard count changes: accepts the message only if this shard still holds a
   * message to its recipient (so theirs stay in order here), or replays its key's answer; else
   * `not-held`, storing nothing, and the message goes to the recipient's shard now.
   */
  async acceptIfHolding(request: AcceptRequest): Promise<AcceptResult | { kind: "not-held" }> {
    if (request.idempotency) {
      const prior = priorAnswer(this.sql, request.idempotency, this.clock());
      if (prior) {
        return prior;
      }
    }
    const holds = firstRow(
      this.sql,
      "SELECT 1 AS held FROM outbox WHERE recipient = ? LIMIT 1",
      request.message.recipient,
    );
    return holds ? this.accept(request) : { kind: "not-held" };
  }

  /**
   * The home shard (0) of a sharded tenant's idempotency keys: answers a key it knows (replay,
   * or a conflict for another body), else forwards the message to its shard (`target`, or
   * `previous` while N changes: see acceptRouted) and keeps the answer. While a key is forwarded
   * its body's hash is kept here, so a request with the key and another body is a 422 even if
   * this object restarts before the answer comes back; one with the same body goes the same way
   * again and is replayed there. Requests with one key are taken one at a time.
   */
  async acceptAsHome(
    request: AcceptRequest,
    target: number,
    previous: number | null,
  ): Promise<AcceptResult> {
    const idempotency = request.idempotency;
    if (!idempotency) {
      throw new Error("acceptAsHome needs an idempotency key");
    }
    for (;;) {
      const busy = this.forwarding.get(idempotency.key);
      if (!busy) {
        break;
      }
      await busy.catch(() => undefined);
    }
    const run = this.forwardOnce(request, idempotency, target, previous);
    this.forwarding.set(idempotency.key, run);
    try {
      return await run;
    } finally {
      if (this.forwarding.get(idempotency.key) === run) {
        this.forwarding.delete(idempotency.key);
      }
    }
  }

  private async forwardOnce(
    request: AcceptRequest,
    idempotency: NonNullable<AcceptRequest["idempotency"]>,
    target: number,
    previous: number | null,
  ): Promise<AcceptResult> {
    const now = this.clock();
    this.meta.rememberTenant(this.sql, request.message.tenantId);
    const prior = priorAnswer(this.sql, idempotency, now);
    if (prior) {
      return prior;
    }
    if (!this.forwardsReady) {
      migrateForwards(this.sql);
      this.forwardsReady = true;
    }
    const hash = forwardedHash(this.sql, idempotency.key, now);
    if (hash !== undefined && hash !== idempotency.requestHash) {
      return { kind: "idempotency-conflict" };
    }
    if (hash === undefined) {
      rememberForward(this.sql, idempotency, now);
    }
    const result = await acceptRouted(this.env, request, target, previous, {
      shard: 0,
      accept: (r) => this.accept(r),
      acceptIfHolding: (r) => this.acceptIfHolding(r),
    });
    if (result.kind === "accepted" || result.kind === "replayed") {
      rememberAnswer(this.sql, idempotency, result.response, this.clock());
      forgetForward(this.sql, idempotency.key);
    } else if (result.kind !== "idempotency-conflict") {
      // Refused (opted out, over budget, outdated settings): nothing was stored, as unsharded.
      forgetForward(this.sql, idempotency.key);
    }
    return result;
  }

  /**
   * Messages this shard holds whose recipients belong to another shard among `shards`: left from
   * before a change of N, until they are sent. A new change waits until none are left.
   */
  async heldElsewhere(shard: number, shards: number): Promise<number> {
    let count = 0;
    for (const row of this.sql.exec<{ recipient: string; n: number }>(
      "SELECT recipient, COUNT(*) AS n FROM outbox GROUP BY recipient",
    )) {
      if (shardOf(row.recipient, shards) !== shard) {
        count += row.n;
      }
    }
    return count;
  }

  /**
   * Stores part of a batch, invisible until `commitBatch()`: an upload that fails half-way sends
   * nothing, and its staged rows are dropped after STAGED_TTL_MS. Staging rows again is harmless,
   * and staging a batch committed already stores nothing (a retried upload). A part composed
   * under settings older than the last configured (`settingsVersion`, which the commit checks in
   * any case) is refused with what was staged of its batch, so the sender composes the batch
   * again before it has composed all of it. SMS to numbers that opted out are not staged (unless
   * `optOutExempt`): the answer names them, for the batch's rejected rows.
   */
  async stageBatch(part: {
    tenantId: string;
    messages: OutboxMessage[];
    settingsVersion?: number;
    /** Verification codes of a tenant that exempts them: opted-out numbers are not refused. */
    optOutExempt?: boolean;
  }): Promise<{ staged: number; optedOut: string[] } | "stale-settings"> {
    const now = this.clock();
    this.meta.rememberTenant(this.sql, part.tenantId);
    const fresh = notCommitted(this.sql, part.messages);
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
    // SMS to opted-out numbers are left out, and named (by message id) for the batch's report.
    const refused = part.optOutExempt
      ? new Set<string>()
      : this.optOuts.optedOutOf(
          this.sql,
          part.messages.filter((m) => m.channel === "sms").map((m) => m.recipient),
        );
    const isRefused = (m: OutboxMessage) => m.channel === "sms" && refused.has(m.recipient);
    stageMessages(
      this.sql,
      this.meta,
      refused.size === 0 ? fresh : fresh.filter((m) => !isRefused(m)),
      now,
    );
    await this.wakeAt(now + STAGED_TTL_MS);
    const optedOut = part.messages.filter(isRefused).map((m) => m.id);
    return { staged: part.messages.length - optedOut.length, optedOut };
  }

  /**
   * Makes a staged batch sendable, in one transaction, and keeps its record for the D1 log; a
   * marketing batch's messages inside the quiet hours are held at once. `incomplete`, changing
   * nothing, if the staged rows are not all there (the upload took longer than the TTL);
   * `committed`, changing nothing, if the batch was committed already. `settingsVersion`: the
   * tenant's settings the batch was composed under; older than the last configured, its staged
   * rows are dropped (see CommitResult).
   */
  async commitBatch(
    record: BatchRecord,
    settingsVersion: number,
    budget?: BatchBudget,
    /**
     * Sharded dispatch (domain/dispatch-shards): how many of the batch's messages this shard
     * staged; `record` is the whole batch's (every shard logs it, the same, to D1).
     */
    part?: number,
  ): Promise<CommitResult> {
    const quiet =
      record.kind === "marketing" ? await this.meta.quietHours(this.sql, this.env.DB) : null;
    if (isCommitted(this.sql, record.id)) {
      // A retried upload: answered as the commit was, with its budget cut if it had one.
      const cut = budgetCutOf(this.sql, record.id);
      return cut ? { kind: "partial", ...cut } : "committed";
    }
    if (settingsVersion < this.meta.settingsVersion(this.sql)) {
      dropStaged(this.sql, record.id);
      return "stale-settings";
    }
    const now = this.clock();
    // Test-mode batches never count, so only a live batch's rows are read for their costs (100,000
    // rows' JSON was a quarter of a large batch's commit); its messages are charged in order.
    const charges = record.mode === "live" ? stagedCharges(this.sql, record.id) : [];
    const staged = record.mode === "live" ? charges.length : stagedCount(this.sql, record.id);
    const expected = part ?? record.accepted;
    if (staged !== expected) {
      return "incomplete";
    }
    const policy = budget?.policy ?? { limitMicros: null, zone: "UTC", currency: "" };
    const plan = planCharges(this.sql, policy, charges, now);
    let refused: string[] = [];
    if (plan.refusal) {
      if (!budget?.partial || plan.fits === 0) {
        dropStaged(this.sql, record.id);
        // Refused whole: what the whole batch would have cost.
        const costMicros = charges.reduce((sum, c) => sum + c.costMicros, 0);
        return { kind: "over-budget", refusal: { ...plan.refusal, costMicros } };
      }
      refused = charges.slice(plan.fits).map((c) => c.id);
      dropStagedMessages(this.sql, refused);
      record.accepted -= refused.length;
      record.rejected += refused.length;
      rememberBudgetCut(this.sql, record.id, { refused, refusal: plan.refusal });
    }
    if (!commitStaged(this.sql, record, now, expected - refused.length)) {
      return "incomplete";
    }
    const announce = applyCharges(
      this.sql,
      { ...policy, tenantId: record.tenantId },
      plan,
      charges,
      now,
    );
    if (quiet) {
      holdBatch(this.sql, record, quiet, this.clock());
    }
    if (record.kind === "marketing") {
      this.meta.recheckQuietHours();
    }
    await this.wakeAt(this.clock());
    if (announce) {
      await this.announceBudget();
    }
    return plan.refusal ? { kind: "partial", refused, refusal: plan.refusal } : "committed";
  }

  /** This month's spending (the tenant's zone) and the prepaid balance. */
  async budgetUsage(policy: BudgetPolicy): Promise<BudgetUsage> {
    return budgetUsage(this.sql, policy, this.clock());
  }

  /**
   * Adds `micros` to the prepaid balance (the platform admin's top-up); from the first, sends
   * draw it down and none may take it below zero. A top-up under an `id` already used adds
   * nothing and answers as that one did (an Idempotency-Key's claim made again).
   */
  async topUpBalance(change: { tenantId: string; micros: number; id?: string }): Promise<TopUp> {
    this.meta.rememberTenant(this.sql, change.tenantId);
    return topUpBalance(this.sql, change.micros, change.id, this.clock());
  }

  /**
   * The tenant's settings changed: from now on a message composed under an older version is
   * refused, and a new send rate (0 pauses releasing), new quiet hours (null turns them off) or
   * a suspension (nothing released until resumed) apply; a setting left out is unchanged. Two changes' calls may come in either order: one
   * older than the version configured is ignored.
   */
  async configure(settings: {
    tenantId: string;
    settingsVersion?: number;
    sendRate?: number;
    quietHours?: QuietHours | null;
    /** Suspended by the platform admin: nothing is released until a call says false. */
    suspended?: boolean;
    /** Which of the tenant's dispatcher shards this is (domain/dispatch-shards). */
    shard?: number;
  }): Promise<void> {
    this.meta.rememberTenant(this.sql, settings.tenantId);
    if (settings.shard !== undefined) {
      this.meta.rememberShard(this.sql, settings.shard);
    }
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
    if (settings.suspended !== undefined) {
      this.meta.setSuspended(this.sql, settings.suspended);
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

  /**
   * A number opted out of the tenant's messages (`optedOut` true) or back in: from the return on,
   * `accept()` refuses SMS to it (services/inbound/opt-outs keeps D1's record beside this copy).
   */
  async setOptOut(change: { tenantId: string; phone: string; optedOut: boolean }): Promise<void> {
    this.meta.rememberTenant(this.sql, change.tenantId);
    this.optOuts.set(this.sql, change.phone, change.optedOut);
  }

  /**
   * A new shard of a sharded tenant (domain/dispatch-shards) learns the numbers that opted out
   * before it existed: D1's record, copied in as the shard count changes. `replace`: what it held
   * from an earlier time as a shard is dropped first (it has not been told of changes since).
   */
  async copyOptOuts(copy: {
    tenantId: string;
    phones: string[];
    replace?: boolean;
  }): Promise<void> {
    this.meta.rememberTenant(this.sql, copy.tenantId);
    if (copy.replace) {
      this.optOuts.clear(this.sql);
    }
    for (const phone of copy.phones) {
      this.optOuts.set(this.sql, phone, true);
    }
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
    const { outcome, flush } = await cancelMessage(this.sql, this.env, this.meta, id, this.clock());
    if (flush) {
      // Not in D1 yet: the flush writes it as canceled.
      await this.wakeAt(this.clock());
    }
    return outcome;
  }

  /** Cancels every message of the batch not yet released; returns how many. */
  async cancelBatch(batchId: string): Promise<number> {
    const now = this.clock();
    const canceled = await cancelBatchMessages(this.sql, this.env, this.meta, batchId, now);
    if (canceled === null) {
      return 0;
    }
    await this.wakeAt(now);
    return canceled;
  }

  /**
   * Send results from the consumers: the recipient's next message may go, and a sent message's
   * receipt deadline needs a sweep by then. A message WeChat gave up on comes back as its SMS
   * fallback, taken back to be released like any other (behind its phone's earlier messages).
   */
  async reportResults(results: SendResult[]): Promise<void> {
    const now = this.clock();
    takeResults(this.sql, this.meta, this.env, results, now);
    await this.wakeAt(now + COALESCE_MS);
  }

  /**
   * Send outcomes a consumer could not record in D1: kept here once this returns, and written to
   * D1 from the alarm until D1 takes them.
   */
  async keepOutcomes(records: OutcomeRecord[], sendLog?: string): Promise<void> {
    await this.wakeAt(keepForD1(this.sql, records, this.clock(), sendLog));
  }

  /**
   * A template message WeChat reported undelivered becomes its SMS fallback in the send log (the
   * status writer's `fallBackToSms`; it stays `sent` until the SMS has a result), and the outbox
   * takes it back, to be released like any message: behind earlier messages to its phone, at the
   * tenant's rate. Safe to call again (the WeChatAccount retries until this returns): a message
   * still waiting for its SMS is taken back once. Returns whether it waits for its SMS.
   */
  async fallBackToSms(request: FallbackRequest): Promise<boolean> {
    const now = this.clock();
    const waiting = await takeBackUndelivered(this.sql, this.meta, this.env, request, now);
    if (waiting) {
      await this.wakeAt(now);
    }
    return waiting;
  }

  /** Runs the alarm loop soon (housekeeping's safety net). */
  async wake(): Promise<void> {
    await this.wakeAt(this.clock());
  }

  /** Works through a retention backlog the cron run left (retention.ts), a round per run. */
  async continueRetention(tenantId: string): Promise<void> {
    this.meta.rememberTenant(this.sql, tenantId);
    const now = this.clock();
    continueRetention(this.sql, this.meta, now);
    await this.wakeAt(now);
  }

  /** One run of the loop (alarm-loop.ts), then the next alarm. */
  async alarm(): Promise<void> {
    await this.announceBudget();
    await this.loop.run(this.loopParts());
  }

  /**
   * Hands the `budget.threshold` events waiting here to the webhook queue; ones that cannot go
   * now stay for the next alarm run (their ids are fixed, so a second hand-over sends nothing
   * twice). Never fails the send that crossed the threshold.
   */
  private async announceBudget(): Promise<void> {
    const events = pendingBudgetEvents(this.sql);
    if (events.length === 0) {
      return;
    }
    try {
      await emitEvents(this.env, events, this.clock());
      forgetBudgetEvents(this.sql, events);
    } catch (error) {
      createLogger(this.env.LOG_LEVEL, { tenant_id: events[0]?.tenantId }).error(
        "budget events not handed over",
        { count: events.length, error },
      );
      await this.wakeAt(this.clock() + COALESCE_MS);
    }
  }

  /** Brings the alarm forward to `at` (never pushes it back). */
  private async wakeAt(at: number): Promise<void> {
    await this.loop.wakeAt(this.ctx.storage, at);
  }

  private loopParts(): LoopParts {
    return {
      sql: this.sql,
      storage: this.ctx.storage,
      env: this.env,
      meta: this.meta,
      clock: this.clock,
    };
  }
}
