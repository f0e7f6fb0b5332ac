/**
 * TenantDispatcher: one per tenant (`idFromName("tenant:" + tenantId)`), the single writer of the
 * tenant's outbound traffic.
 *
 * Receives: `accept()` from the API (one call per accepted request), `stageBatch()` and
 * `commitBatch()` for a batch (a few large calls, never one per recipient), `cancel()` and
 * `cancelBatch()`, `reportResults()` from the dispatch consumers (one call per queue batch),
 * `configure()` when the tenant's send rate changes, `peek()`/`peekBatch()` for what is not yet in
 * the D1 send log, `wake()` from housekeeping, and its own alarms.
 * Guarantees: when `accept()` or `commitBatch()` returns, the messages are in this object's SQLite
 * outbox, so they are never lost; a staged batch that is never committed is never sent; an
 * idempotency key replays its first answer for 24 h; messages to one recipient in one lane are
 * released in acceptance order, and none while another to that recipient awaits its send result;
 * each release tick serves the transactional lane first and the bulk lane (batches, marketing)
 * with what is left; across recipients, releases are fair (start-time fair queuing) and keep to
 * the tenant's send rate; a sent message without a receipt by the deadline ends `expired`. Every
 * alarm step is idempotent, so an alarm may run twice.
 * Never: calls a provider, or releases a message before it is written to the D1 send log.
 */
import { DurableObject } from "cloudflare:workers";
import { settingsOf } from "../config/settings";
import { type BucketState, refill } from "../domain/token-bucket";
import { type DispatchJob, dispatchJobSchema } from "../queues/payloads";
import {
  type AcceptRequest,
  type AcceptResult,
  type BatchRecord,
  batchRecordSchema,
  type CancelOutcome,
  type OutboxMessage,
  outboxMessageSchema,
  type PendingMessage,
  type SendResult,
} from "./dispatcher-types";
import { LANE_BULK, LANE_TRANSACTIONAL, migrateOutbox } from "./outbox-schema";
import {
  cancelLogged,
  expireOverdue,
  logBatches,
  logMessages,
  markBatchCanceled,
  readStates,
} from "./send-log";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Accepts within this window share one alarm run: one D1 write and one queue batch for all. */
const COALESCE_MS = 250;
const IDEMPOTENCY_PRUNE_EVERY_MS = 60_000;
/** Releases happen in ticks; the bucket holds a little more than one tick, so a late alarm loses no tokens. */
const RELEASE_TICK_MS = 100;
const BURST_SECONDS = 0.25;
/**
 * Rows written to D1 per alarm run. Bounded so that a 100k batch is logged over many short runs,
 * between which releases (transactional first) go on.
 */
const FLUSH_PER_RUN = 4000;
/** The bulk lane keeps this many seconds of releases (at least BULK_WINDOW_MIN) logged ahead. */
const BULK_WINDOW_SECONDS = 3;
const BULK_WINDOW_MIN = 1000;
/** The queue backlog (released, no result yet) past which the bulk lane waits; see releaseDue. */
const BULK_IN_FLIGHT_SECONDS = 1;
const BULK_IN_FLIGHT_MIN = 200;
/** Bulk messages due within this time count as due for logging ahead. */
const BULK_LOOKAHEAD_MS = 5_000;
const QUEUE_BATCH = 100; // Queues' sendBatch limit
/** A batch upload that has not committed by then is abandoned and its staged rows dropped. */
const STAGED_TTL_MS = 10 * 60 * 1000;
const FINAL_OR_SENT = new Set([
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "canceled",
  "expired",
]);

type Row = Record<string, SqlStorageValue>;

function laneOf(message: OutboxMessage): number {
  return message.lane === "bulk" ? LANE_BULK : LANE_TRANSACTIONAL;
}

export class TenantDispatcher extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** In-memory copies of what is also in `meta` (or the alarm), read once per instance. */
  private tenantId: string | undefined;
  private sendRate: number | undefined;
  private alarmAt: number | null | undefined;
  private prunedAt = 0;
  private virtualClock: number | undefined;
  private sweepAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateOutbox(this.sql);
  }

  /**
   * Appends a message to the outbox, or replays the answer an idempotency key already got. The
   * whole method is synchronous SQL, so it commits as one transaction before the caller hears back.
   */
  async accept(request: AcceptRequest): Promise<AcceptResult> {
    const now = Date.now();
    const { message, idempotency } = request;
    if (idempotency) {
      const prior = this.one(
        "SELECT request_hash, response FROM idempotency WHERE key = ? AND expires_at > ?",
        idempotency.key,
        now,
      );
      if (prior) {
        return prior.request_hash === idempotency.requestHash
          ? { kind: "replayed", response: JSON.parse(String(prior.response)) }
          : { kind: "idempotency-conflict" };
      }
    }
    this.rememberTenant(message.tenantId);
    this.insert(message, "pending", now);
    if (idempotency) {
      this.sql.exec(
        "INSERT OR REPLACE INTO idempotency (key, request_hash, response, expires_at) VALUES (?, ?, ?, ?)",
        idempotency.key,
        idempotency.requestHash,
        JSON.stringify(request.response),
        now + IDEMPOTENCY_TTL_MS,
      );
    }
    await this.wakeAt(now + COALESCE_MS);
    return { kind: "accepted" };
  }

  /**
   * Stores part of a batch, invisible until `commitBatch()`: an upload that fails half-way sends
   * nothing, and its staged rows are dropped after STAGED_TTL_MS.
   */
  async stageBatch(part: { tenantId: string; messages: OutboxMessage[] }): Promise<number> {
    const now = Date.now();
    this.rememberTenant(part.tenantId);
    for (const message of part.messages) {
      this.insert(message, "staged", now);
    }
    await this.wakeAt(now + STAGED_TTL_MS);
    return part.messages.length;
  }

  /**
   * Makes a staged batch sendable, in one transaction, and keeps its record for the D1 log.
   * Returns false, changing nothing, if the staged rows are not all there (the upload took longer
   * than the TTL) or the batch was committed already.
   */
  async commitBatch(record: BatchRecord): Promise<boolean> {
    if (this.one("SELECT 1 AS found FROM batches WHERE id = ?", record.id)) {
      return true;
    }
    const staged = Number(
      this.one(
        "SELECT COUNT(*) AS n FROM outbox WHERE batch_id = ? AND state = 'staged'",
        record.id,
      )?.n ?? 0,
    );
    if (staged !== record.accepted) {
      return false;
    }
    this.sql.exec(
      "UPDATE outbox SET state = 'pending', staged_at = NULL WHERE batch_id = ? AND state = 'staged'",
      record.id,
    );
    this.sql.exec(
      "INSERT INTO batches (id, record) VALUES (?, ?)",
      record.id,
      JSON.stringify(record),
    );
    await this.wakeAt(Date.now());
    return true;
  }

  /** The tenant's settings changed: a new send rate (0 pauses releasing) applies from now on. */
  async configure(settings: { tenantId: string; sendRate: number }): Promise<void> {
    this.rememberTenant(settings.tenantId);
    this.sendRate = settings.sendRate;
    this.setMeta("send_rate", String(settings.sendRate));
    await this.wakeAt(Date.now());
  }

  /** A message that is accepted but not yet in the D1 send log, or null. */
  async peek(id: string): Promise<PendingMessage | null> {
    const row = this.one(
      "SELECT message, state FROM outbox WHERE id = ? AND logged = 0 AND state <> 'staged'",
      id,
    );
    return row
      ? {
          message: outboxMessageSchema.parse(JSON.parse(String(row.message))),
          canceled: row.state === "canceled",
        }
      : null;
  }

  /** A committed batch whose record is not yet in D1, or null. */
  async peekBatch(id: string): Promise<BatchRecord | null> {
    const row = this.one("SELECT record FROM batches WHERE id = ?", id);
    return row ? batchRecordSchema.parse(JSON.parse(String(row.record))) : null;
  }

  /**
   * Cancels a message that has not been released to a provider. One still on the queue is
   * canceled in D1 before a consumer claims it (the claim only takes queued messages).
   */
  async cancel(id: string): Promise<CancelOutcome> {
    const row = this.one("SELECT state, logged FROM outbox WHERE id = ?", id);
    if (!row || row.state === "staged") {
      return { kind: "not-found" };
    }
    if (row.state === "canceled") {
      return { kind: "canceled" };
    }
    if (row.logged === 0) {
      // Not in D1 yet: the flush writes it as canceled.
      this.sql.exec("UPDATE outbox SET state = 'canceled' WHERE id = ?", id);
      await this.wakeAt(Date.now());
      return { kind: "canceled" };
    }
    const canceled = await cancelLogged(this.env.DB, { ids: [id] }, Date.now());
    if (canceled === 0) {
      return { kind: "too-late" };
    }
    if (row.state === "pending") {
      this.sql.exec("DELETE FROM outbox WHERE id = ?", id);
    }
    // A released one leaves when its consumer finds it canceled and reports back.
    return { kind: "canceled" };
  }

  /** Cancels every message of the batch not yet released; returns how many. */
  async cancelBatch(batchId: string): Promise<number> {
    const now = Date.now();
    const tenantId = this.tenantId ?? this.getMeta("tenant_id");
    if (!tenantId) {
      return 0;
    }
    const unlogged = this.sql.exec(
      "UPDATE outbox SET state = 'canceled' WHERE batch_id = ? AND logged = 0 AND state = 'pending'",
      batchId,
    ).rowsWritten;
    const stored = this.one("SELECT record FROM batches WHERE id = ?", batchId);
    if (stored) {
      const record = batchRecordSchema.parse(JSON.parse(String(stored.record)));
      record.canceledAt ??= now;
      this.sql.exec("UPDATE batches SET record = ? WHERE id = ?", JSON.stringify(record), batchId);
    } else {
      await markBatchCanceled(this.env.DB, tenantId, batchId, now);
    }
    const logged = await cancelLogged(this.env.DB, { tenantId, batchId }, now);
    // Canceled in D1 above, so the pending ones need no release; released ones report back.
    this.sql.exec(
      "DELETE FROM outbox WHERE batch_id = ? AND logged = 1 AND state = 'pending'",
      batchId,
    );
    await this.wakeAt(now);
    return unlogged + logged;
  }

  /**
   * Send results from the consumers: the recipient's next message may go, and a sent message's
   * receipt deadline needs a sweep by then.
   */
  async reportResults(results: SendResult[]): Promise<void> {
    const now = Date.now();
    for (const result of results) {
      this.sql.exec("DELETE FROM outbox WHERE id = ?", result.id);
    }
    if (results.some((result) => result.outcome === "sent")) {
      const due = now + settingsOf(this.env).RECEIPT_DEADLINE_SECONDS * 1000;
      const current = this.nextSweep();
      if (current === null || due < current) {
        this.setNextSweep(due);
      }
    }
    await this.wakeAt(now + COALESCE_MS);
  }

  /** Runs the alarm loop soon (housekeeping's safety net). */
  async wake(): Promise<void> {
    await this.wakeAt(Date.now());
  }

  async alarm(): Promise<void> {
    // The alarm that woke us is spent; anything set from here on is a new one.
    this.alarmAt = null;
    const now = Date.now();
    await this.flushBatches();
    const moreToLog = await this.flushToSendLog(now);
    await this.sweepExpired(now);
    await this.reconcileStaleReleases(now);
    const budgetLeft = await this.releaseDue(now);
    this.pruneIdempotency(now);
    this.dropAbandonedStages(now);
    await this.scheduleNextAlarm(Date.now(), budgetLeft, moreToLog);
  }

  private insert(message: OutboxMessage, state: "pending" | "staged", now: number): void {
    this.sql.exec(
      `INSERT INTO outbox (id, recipient, send_at, vtag, lane, batch_id, state, staged_at, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      message.id,
      message.recipient,
      message.sendAt,
      this.fairTag(message.recipient),
      laneOf(message),
      message.batchId,
      state,
      state === "staged" ? now : null,
      JSON.stringify(message),
    );
  }

  private pruneIdempotency(now: number): void {
    if (now - this.prunedAt < IDEMPOTENCY_PRUNE_EVERY_MS) {
      return;
    }
    this.prunedAt = now;
    this.sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
  }

  private dropAbandonedStages(now: number): void {
    this.sql.exec(
      "DELETE FROM outbox WHERE state = 'staged' AND staged_at <= ?",
      now - STAGED_TTL_MS,
    );
  }

  /** Committed batches' records go to D1 before their messages; INSERT OR IGNORE for reruns. */
  private async flushBatches(): Promise<void> {
    const rows = this.all("SELECT id, record FROM batches");
    if (rows.length === 0) {
      return;
    }
    await logBatches(
      this.env.DB,
      rows.map((row) => batchRecordSchema.parse(JSON.parse(String(row.record)))),
    );
    for (const row of rows) {
      // A cancel during the write changed the record: it goes again next run.
      this.sql.exec("DELETE FROM batches WHERE id = ? AND record = ?", row.id, row.record);
    }
  }

  /**
   * Writes accepted messages to the D1 send log, at most FLUSH_PER_RUN per alarm run; INSERT OR
   * IGNORE makes a rerun harmless. Transactional and canceled messages go first and all of them;
   * the bulk lane only keeps a window of due messages logged ahead of its releases, so a 100k
   * batch is written at the pace it is sent instead of all at once, which would hold D1 (and the
   * consumers' claims on it) for many seconds. Returns whether more is ready to write now.
   */
  private async flushToSendLog(now: number): Promise<boolean> {
    const rows = this.all(
      `SELECT id, state, message FROM outbox INDEXED BY outbox_unlogged_transactional
       WHERE logged = 0 AND lane = ${LANE_TRANSACTIONAL} ORDER BY seq LIMIT ?`,
      FLUSH_PER_RUN,
    );
    if (rows.length < FLUSH_PER_RUN) {
      rows.push(
        ...this.all(
          `SELECT id, state, message FROM outbox
           WHERE state = 'canceled' AND logged = 0 AND lane = ${LANE_BULK} LIMIT ?`,
          FLUSH_PER_RUN - rows.length,
        ),
      );
    }
    const room = Math.min(FLUSH_PER_RUN - rows.length, await this.bulkWindowRoom(now));
    if (room > 0) {
      rows.push(
        ...this.all(
          `SELECT id, state, message FROM outbox INDEXED BY outbox_unlogged_bulk
           WHERE logged = 0 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at <= ?
           ORDER BY send_at, seq LIMIT ?`,
          now + BULK_LOOKAHEAD_MS,
          room,
        ),
      );
    }
    if (rows.length === 0) {
      return false;
    }
    await logMessages(
      this.env.DB,
      rows.map((row) => outboxMessageSchema.parse(JSON.parse(String(row.message)))),
      now,
      new Set(rows.filter((row) => row.state === "canceled").map((row) => String(row.id))),
    );
    for (const row of rows) {
      if (row.state === "canceled") {
        this.sql.exec("DELETE FROM outbox WHERE id = ?", row.id);
      } else {
        this.sql.exec("UPDATE outbox SET logged = 1 WHERE id = ?", row.id);
      }
    }
    return rows.length === FLUSH_PER_RUN || room === rows.length;
  }

  /** How many more bulk messages may be logged ahead of their release. */
  private async bulkWindowRoom(now: number): Promise<number> {
    const window = Math.max(
      BULK_WINDOW_MIN,
      Math.ceil((await this.currentSendRate()) * BULK_WINDOW_SECONDS),
    );
    const ready = Number(
      this.one(
        `SELECT COUNT(*) AS n FROM (
           SELECT 1 FROM outbox INDEXED BY outbox_bulk_ready
           WHERE logged = 1 AND lane = ${LANE_BULK} AND state = 'pending' AND send_at <= ? LIMIT ?)`,
        now + BULK_LOOKAHEAD_MS,
        window,
      )?.n ?? 0,
    );
    return window - ready;
  }

  /**
   * Sent messages with no receipt by the deadline end `expired`. The sweep runs in D1 and says when
   * the next deadline falls, so the dispatcher keeps no row per message waiting for a receipt.
   */
  private async sweepExpired(now: number): Promise<void> {
    const due = this.nextSweep();
    const tenantId = this.tenantId ?? this.getMeta("tenant_id");
    if (due === null || due > now || !tenantId) {
      return;
    }
    const next = await expireOverdue(
      this.env.DB,
      tenantId,
      now,
      settingsOf(this.env).RECEIPT_DEADLINE_SECONDS * 1000,
    );
    // At most one sweep a second, however the deadlines fall.
    this.setNextSweep(next === null ? null : Math.max(next, now + 1000));
  }

  private nextSweep(): number | null {
    if (this.sweepAt === undefined) {
      const stored = this.getMeta("next_sweep");
      this.sweepAt = stored ? Number(stored) : null;
    }
    return this.sweepAt;
  }

  private setNextSweep(at: number | null): void {
    this.sweepAt = at;
    if (at === null) {
      this.sql.exec("DELETE FROM meta WHERE key = 'next_sweep'");
    } else {
      this.setMeta("next_sweep", String(at));
    }
  }

  /**
   * A released message whose result never came back (a lost queue message, a consumer that died,
   * a lost report) is looked up in D1: done ones are retired, one still being worked on (a retry
   * waiting out its backoff) is left alone, and the rest are released again. The consumers' claim
   * on the message row makes a second delivery harmless.
   */
  private async reconcileStaleReleases(now: number): Promise<void> {
    const timeoutMs = settingsOf(this.env).RELEASE_TIMEOUT_SECONDS * 1000;
    const stale = this.all(
      `SELECT id FROM outbox INDEXED BY outbox_released
       WHERE state = 'released' AND released_at <= ? ORDER BY released_at LIMIT 500`,
      now - timeoutMs,
    ).map((row) => String(row.id));
    if (stale.length === 0) {
      return;
    }
    const states = await readStates(this.env.DB, stale);
    const again: string[] = [];
    for (const id of stale) {
      const state = states.get(id);
      if (state && FINAL_OR_SENT.has(state.status)) {
        this.sql.exec("DELETE FROM outbox WHERE id = ?", id);
        continue;
      }
      this.sql.exec("UPDATE outbox SET released_at = ? WHERE id = ?", now, id);
      const inProgress = state?.status === "sending" && state.updatedAt > now - timeoutMs;
      if (!inProgress) {
        again.push(id);
      }
    }
    await this.enqueue(again);
  }

  /**
   * Start-time fair queuing over recipients: a message's tag is one past the later of the virtual
   * clock (the tag last released) and its recipient's previous tag. Releasing in tag order serves
   * recipients round-robin, so a recipient with a long line cannot hold up the others, a newcomer
   * cannot jump the queue, and as many recipients as possible have a message in flight (each may
   * have only one, which is what bounds throughput once few recipients are left).
   */
  private fairTag(recipient: string): number {
    const last = this.one(
      "SELECT MAX(vtag) AS tag FROM outbox WHERE recipient = ?",
      recipient,
    )?.tag;
    return Math.max(this.virtualNow(), Number(last ?? 0)) + 1;
  }

  private virtualNow(): number {
    this.virtualClock ??= Number(this.getMeta("virtual_clock") ?? "0");
    return this.virtualClock;
  }

  /**
   * Releases what is due, at the tenant's rate: the transactional lane first, then the bulk lane
   * with what is left. Within a lane, in fair-queuing order: for each recipient only the head of
   * its line, and only when nothing to that recipient is still waiting for its send result.
   * Returns whether the rate, not a lack of work, stopped it.
   */
  private async releaseDue(now: number): Promise<boolean> {
    const rate = await this.currentSendRate();
    if (rate <= 0) {
      return false; // paused: configure() wakes us when the rate goes up
    }
    const limits = { rate, burst: Math.max(1, rate * BURST_SECONDS) };
    const bucket = refill(this.getBucket(), limits, now);
    const budget = Math.floor(bucket.tokens);
    if (budget < 1) {
      this.setBucket(bucket);
      return true;
    }
    const due = this.dueInLane(LANE_TRANSACTIONAL, now, budget);
    const bulkBudget = Math.min(budget - due.length, this.bulkInFlightRoom(rate));
    if (bulkBudget > 0) {
      due.push(...this.dueInLane(LANE_BULK, now, bulkBudget));
    }
    this.setBucket({ tokens: bucket.tokens - due.length, at: now });
    let lastTag = this.virtualNow();
    for (const row of due) {
      this.sql.exec(
        "UPDATE outbox SET state = 'released', released_at = ? WHERE id = ?",
        now,
        row.id,
      );
      lastTag = Math.max(lastTag, Number(row.vtag));
    }
    if (lastTag > this.virtualNow()) {
      this.virtualClock = lastTag;
      this.setMeta("virtual_clock", String(lastTag));
    }
    await this.enqueue(due.map((row) => String(row.id)));
    return due.length === budget;
  }

  /**
   * How many more bulk messages may be put on the queue now. Released messages not yet reported
   * are the queue's backlog; a transactional message released now waits behind all of it. Bulk
   * stops while the backlog holds more than BULK_IN_FLIGHT_SECONDS of the tenant's rate, so
   * consumers that fall behind slow the batch down instead of delaying verification codes.
   */
  private bulkInFlightRoom(rate: number): number {
    const cap = Math.max(BULK_IN_FLIGHT_MIN, Math.ceil(rate * BULK_IN_FLIGHT_SECONDS));
    const inFlight = Number(
      this.one(
        `SELECT COUNT(*) AS n FROM (
           SELECT 1 FROM outbox INDEXED BY outbox_released WHERE state = 'released' LIMIT ?)`,
        cap,
      )?.n ?? 0,
    );
    return cap - inFlight;
  }

  private dueInLane(lane: number, now: number, limit: number): Row[] {
    return this.all(
      // Walking the fair-queuing index in order lets the scan stop at the limit; left to itself,
      // SQLite tests every due message and sorts them all, on every tick.
      `SELECT o.id, o.vtag FROM outbox o INDEXED BY outbox_lane_fair
       WHERE o.state = 'pending' AND o.lane = ? AND o.logged = 1 AND o.send_at <= ?
         AND NOT EXISTS (
           SELECT 1 FROM outbox p
           WHERE p.recipient = o.recipient AND p.seq <> o.seq
             AND (p.state = 'released'
               OR (p.state = 'pending' AND p.lane = o.lane AND (p.send_at < o.send_at
                 OR (p.send_at = o.send_at AND p.seq < o.seq)))))
       ORDER BY o.vtag, o.seq LIMIT ?`,
      lane,
      now,
      limit,
    );
  }

  private async enqueue(ids: string[]): Promise<void> {
    const tenantId = this.tenantId ?? this.getMeta("tenant_id");
    if (!tenantId || ids.length === 0) {
      return;
    }
    for (let i = 0; i < ids.length; i += QUEUE_BATCH) {
      const jobs = ids.slice(i, i + QUEUE_BATCH).map(
        (messageId): MessageSendRequest<DispatchJob> => ({
          body: dispatchJobSchema.parse({ v: 1, tenant_id: tenantId, message_id: messageId }),
          contentType: "json",
        }),
      );
      await this.env.DISPATCH_QUEUE.sendBatch(jobs);
    }
  }

  private async scheduleNextAlarm(
    now: number,
    rateLimited: boolean,
    moreToLog: boolean,
  ): Promise<void> {
    const timeoutMs = settingsOf(this.env).RELEASE_TIMEOUT_SECONDS * 1000;
    const earliest = (query: string, ...bindings: SqlStorageValue[]) => {
      const at = this.one(query, ...bindings)?.at;
      return at === null || at === undefined ? undefined : Number(at);
    };
    const oldestStage = earliest("SELECT MIN(staged_at) AS at FROM outbox WHERE state = 'staged'");
    const bulkUnlogged = earliest(
      `SELECT MIN(send_at) AS at FROM outbox INDEXED BY outbox_unlogged_bulk
       WHERE logged = 0 AND lane = ${LANE_BULK} AND state = 'pending'`,
    );
    const oldestRelease = earliest(
      "SELECT MIN(released_at) AS at FROM outbox INDEXED BY outbox_released WHERE state = 'released'",
    );
    const candidates = [
      moreToLog || this.one("SELECT 1 AS at FROM batches LIMIT 1") ? now : undefined,
      // Bulk messages not logged yet because they are not due: log them a little ahead.
      bulkUnlogged === undefined ? undefined : bulkUnlogged - BULK_LOOKAHEAD_MS,
      rateLimited ? now + RELEASE_TICK_MS : undefined,
      // Messages waiting behind a recipient's earlier one are woken by its send result instead.
      earliest(
        "SELECT MIN(send_at) AS at FROM outbox WHERE state = 'pending' AND logged = 1 AND send_at > ?",
        now,
      ),
      this.nextSweep() ?? undefined,
      oldestRelease === undefined ? undefined : oldestRelease + timeoutMs,
      oldestStage === undefined ? undefined : oldestStage + STAGED_TTL_MS,
    ].filter((at): at is number => at !== undefined);
    if (candidates.length === 0) {
      await this.ctx.storage.deleteAlarm();
      this.alarmAt = null;
      return;
    }
    await this.setAlarmAt(Math.max(now, Math.min(...candidates)));
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

  private rememberTenant(tenantId: string): void {
    if (this.tenantId === tenantId) {
      return;
    }
    this.tenantId = tenantId;
    if (this.getMeta("tenant_id") !== tenantId) {
      this.setMeta("tenant_id", tenantId);
    }
  }

  /** The send rate from `meta`, or from the tenant's row the first time. */
  private async currentSendRate(): Promise<number> {
    if (this.sendRate !== undefined) {
      return this.sendRate;
    }
    const stored = this.getMeta("send_rate");
    if (stored !== undefined) {
      this.sendRate = Number(stored);
      return this.sendRate;
    }
    const tenantId = this.tenantId ?? this.getMeta("tenant_id");
    const row = tenantId
      ? await this.env.DB.prepare("SELECT send_rate FROM tenants WHERE id = ?")
          .bind(tenantId)
          .first<{ send_rate: number }>()
      : null;
    this.sendRate = row?.send_rate ?? 0;
    this.setMeta("send_rate", String(this.sendRate));
    return this.sendRate;
  }

  private getBucket(): BucketState | undefined {
    const stored = this.getMeta("bucket");
    return stored ? (JSON.parse(stored) as BucketState) : undefined;
  }

  private setBucket(state: BucketState): void {
    this.setMeta("bucket", JSON.stringify(state));
  }

  private one(query: string, ...bindings: SqlStorageValue[]): Row | undefined {
    return this.sql.exec<Row>(query, ...bindings).toArray()[0];
  }

  private all(query: string, ...bindings: SqlStorageValue[]): Row[] {
    return this.sql.exec<Row>(query, ...bindings).toArray();
  }

  private getMeta(key: string): string | undefined {
    const row = this.one("SELECT value FROM meta WHERE key = ?", key);
    return row ? String(row.value) : undefined;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }
}
