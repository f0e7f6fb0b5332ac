/**
 * TenantDispatcher: one per tenant (`idFromName("tenant:" + tenantId)`), the single writer of the
 * tenant's outbound traffic.
 *
 * Receives: `accept()` from the API (one call per accepted request), `reportResults()` from the
 * dispatch consumers (one call per queue batch), `configure()` when the tenant's send rate
 * changes, `peek()` for a message not yet in the D1 send log, `wake()` from housekeeping, and its
 * own alarms.
 * Guarantees: when `accept()` returns, the message is in this object's SQLite outbox, so it is
 * never lost; an idempotency key replays its first answer for 24 h; messages to one recipient are
 * released in acceptance order, each only after the previous one has its send result; across
 * recipients, releases are fair (start-time fair queuing) and keep to the tenant's send rate; a
 * sent message without a receipt by the deadline ends `expired`. Every alarm step is idempotent,
 * so an alarm may run twice.
 * Never: calls a provider, or releases a message before it is written to the D1 send log.
 */
import { DurableObject } from "cloudflare:workers";
import { settingsOf } from "../config/settings";
import { type BucketState, refill } from "../domain/token-bucket";
import { type DispatchJob, dispatchJobSchema } from "../queues/payloads";
import {
  type AcceptRequest,
  type AcceptResult,
  acceptedView,
  type OutboxMessage,
  outboxMessageSchema,
  type SendResult,
} from "./dispatcher-types";
import { expireOverdue, logMessages, readStates } from "./send-log";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Accepts within this window share one alarm run: one D1 write and one queue batch for all. */
const COALESCE_MS = 250;
const IDEMPOTENCY_PRUNE_EVERY_MS = 60_000;
/** Releases happen in ticks; the bucket holds a little more than one tick, so a late alarm loses no tokens. */
const RELEASE_TICK_MS = 100;
const BURST_SECONDS = 0.25;
const FLUSH_CHUNK = 200;
const QUEUE_BATCH = 100; // Queues' sendBatch limit
const FINAL_OR_SENT = new Set([
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "canceled",
  "expired",
]);

type Row = Record<string, SqlStorageValue>;

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
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        recipient TEXT NOT NULL,
        send_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        logged INTEGER NOT NULL DEFAULT 0,
        released_at INTEGER,
        message TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (recipient, send_at, seq);
      CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, send_at, seq);
      CREATE TABLE IF NOT EXISTS idempotency (
        key TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        response TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
      DROP TABLE IF EXISTS receipt_deadlines;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    // v2: the fair-queuing tag (see fairTag); outboxes from before it start at tag 0.
    const columns = this.all("SELECT name FROM pragma_table_info('outbox')").map((c) => c.name);
    if (!columns.includes("vtag")) {
      this.sql.exec("ALTER TABLE outbox ADD COLUMN vtag REAL NOT NULL DEFAULT 0");
    }
    this.sql.exec(`
      CREATE INDEX IF NOT EXISTS outbox_fair ON outbox (state, vtag, seq);
      CREATE INDEX IF NOT EXISTS outbox_recipient_tag ON outbox (recipient, vtag);
      CREATE INDEX IF NOT EXISTS outbox_unlogged ON outbox (seq) WHERE logged = 0;
    `);
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
    this.sql.exec(
      "INSERT INTO outbox (id, recipient, send_at, vtag, message) VALUES (?, ?, ?, ?, ?)",
      message.id,
      message.recipient,
      message.sendAt,
      this.fairTag(message.recipient),
      JSON.stringify(message),
    );
    if (idempotency) {
      this.sql.exec(
        "INSERT OR REPLACE INTO idempotency (key, request_hash, response, expires_at) VALUES (?, ?, ?, ?)",
        idempotency.key,
        idempotency.requestHash,
        JSON.stringify(acceptedView(message)),
        now + IDEMPOTENCY_TTL_MS,
      );
    }
    await this.wakeAt(now + COALESCE_MS);
    return { kind: "accepted" };
  }

  /** The tenant's settings changed: a new send rate (0 pauses releasing) applies from now on. */
  async configure(settings: { tenantId: string; sendRate: number }): Promise<void> {
    this.rememberTenant(settings.tenantId);
    this.sendRate = settings.sendRate;
    this.setMeta("send_rate", String(settings.sendRate));
    await this.wakeAt(Date.now());
  }

  /** A message that is accepted but not yet in the D1 send log, or null. */
  async peek(id: string): Promise<OutboxMessage | null> {
    const row = this.one("SELECT message FROM outbox WHERE id = ? AND logged = 0", id);
    return row ? outboxMessageSchema.parse(JSON.parse(String(row.message))) : null;
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
    await this.flushToSendLog();
    await this.sweepExpired(now);
    await this.reconcileStaleReleases(now);
    const budgetLeft = await this.releaseDue(now);
    this.pruneIdempotency(now);
    await this.scheduleNextAlarm(Date.now(), budgetLeft);
  }

  private pruneIdempotency(now: number): void {
    if (now - this.prunedAt < IDEMPOTENCY_PRUNE_EVERY_MS) {
      return;
    }
    this.prunedAt = now;
    this.sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
  }

  /** Writes accepted messages to the D1 send log; INSERT OR IGNORE makes a rerun harmless. */
  private async flushToSendLog(): Promise<void> {
    for (;;) {
      const rows = this.all(
        "SELECT id, message FROM outbox WHERE logged = 0 ORDER BY seq LIMIT ?",
        FLUSH_CHUNK,
      );
      if (rows.length === 0) {
        return;
      }
      const batch = rows.map((row) => outboxMessageSchema.parse(JSON.parse(String(row.message))));
      await logMessages(this.env.DB, batch);
      for (const row of rows) {
        this.sql.exec("UPDATE outbox SET logged = 1 WHERE id = ?", row.id);
      }
    }
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
      "SELECT id FROM outbox WHERE state = 'released' AND released_at <= ? ORDER BY seq LIMIT 500",
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
   * Releases what is due, at the tenant's rate, in fair-queuing order: for each recipient only the
   * head of its line, and only when nothing earlier to that recipient still waits for its send
   * result. Returns whether the rate, not a lack of work, stopped it.
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
    const due = this.all(
      // Walking the fair-queuing index in order lets the scan stop at the budget; left to itself,
      // SQLite tests every due message and sorts them all, on every tick.
      `SELECT o.id, o.vtag FROM outbox o INDEXED BY outbox_fair
       WHERE o.state = 'pending' AND o.logged = 1 AND o.send_at <= ?
         AND NOT EXISTS (
           SELECT 1 FROM outbox p
           WHERE p.recipient = o.recipient AND p.seq <> o.seq
             AND (p.state = 'released'
               OR (p.state = 'pending' AND (p.send_at < o.send_at
                 OR (p.send_at = o.send_at AND p.seq < o.seq)))))
       ORDER BY o.vtag, o.seq LIMIT ?`,
      now,
      budget,
    );
    this.setBucket({ tokens: bucket.tokens - due.length, at: now });
    for (const row of due) {
      this.sql.exec(
        "UPDATE outbox SET state = 'released', released_at = ? WHERE id = ?",
        now,
        row.id,
      );
    }
    const lastTag = due.at(-1)?.vtag;
    if (lastTag !== undefined && Number(lastTag) > this.virtualNow()) {
      this.virtualClock = Number(lastTag);
      this.setMeta("virtual_clock", String(lastTag));
    }
    await this.enqueue(due.map((row) => String(row.id)));
    return due.length === budget;
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

  private async scheduleNextAlarm(now: number, rateLimited: boolean): Promise<void> {
    const timeoutMs = settingsOf(this.env).RELEASE_TIMEOUT_SECONDS * 1000;
    const earliest = (query: string, ...bindings: SqlStorageValue[]) => {
      const at = this.one(query, ...bindings)?.at;
      return at === null || at === undefined ? undefined : Number(at);
    };
    const unlogged = this.one("SELECT 1 AS at FROM outbox WHERE logged = 0 LIMIT 1");
    const oldestRelease = earliest(
      "SELECT MIN(released_at) AS at FROM outbox WHERE state = 'released'",
    );
    const candidates = [
      unlogged ? now : undefined,
      rateLimited ? now + RELEASE_TICK_MS : undefined,
      // Messages waiting behind a recipient's earlier one are woken by its send result instead.
      earliest(
        "SELECT MIN(send_at) AS at FROM outbox WHERE state = 'pending' AND logged = 1 AND send_at > ?",
        now,
      ),
      this.nextSweep() ?? undefined,
      oldestRelease === undefined ? undefined : oldestRelease + timeoutMs,
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
