/**
 * The TenantDispatcher's alarm loop (see tenant-dispatcher.ts): a run writes what is kept for D1
 * and what is not yet in the send log, sweeps what is overdue, releases what is due to the
 * dispatch queue, and ends by setting the next alarm, which calls bring forward. Every step is
 * idempotent, so a run may happen twice; a run that fails sets its own retry.
 */
import { settingsOf } from "../../config/settings";
import { MAIN_PARTITION } from "../../db/send-log-partitions";
import { type DispatchJob, dispatchJobSchema } from "../../delivery/payloads";
import { backoffSeconds } from "../../lib/backoff";
import { createLogger } from "../../lib/log";
import { dropAbandonedStages, forgetCommittedBatches } from "./batch-outbox";
import { forgetExpiredKeys } from "./idempotency";
import { writeKeptOutcomes } from "./kept-outcomes";
import type { DispatcherMeta } from "./meta";
import { nextAlarmAt } from "./next-alarm";
import { bulkWindow, flushBatches, flushToSendLog } from "./outbox-flush";
import { reconcileStaleReleases, sweepExpired } from "./overdue";
import { logsOf, partitionsOf } from "./partitions";
import { RELEASE_TICK_MS, releaseDue } from "./releases";
import { retentionRound } from "./retention";

/** Accepts within this window share one alarm run: one D1 write and one queue batch for all. */
export const COALESCE_MS = 250;
const IDEMPOTENCY_PRUNE_EVERY_MS = 60_000;
/** After a failed run, the next one is tried within a second, then less often, up to a minute. */
const RETRY_BACKOFF = { baseSeconds: 1, maxSeconds: 60 };
const QUEUE_BATCH = 100; // Queues' sendBatch limit

/**
 * What a run works with, read from the object when the run starts (tests swap them on an
 * instance): its SQLite storage and alarms, its bindings, its cached meta and its clock.
 */
export interface LoopParts {
  sql: SqlStorage;
  storage: DurableObjectStorage;
  env: Env;
  meta: DispatcherMeta;
  clock: () => number;
}

/** The alarm as this instance knows it, and the loop's memory between runs. */
export class AlarmLoop {
  /** In-memory copy of the alarm, read once per instance. */
  private alarmAt: number | null | undefined;
  private prunedAt = 0;
  private failedRuns = 0;

  /**
   * One run of the loop, then the next alarm. A run that fails (D1 or the queue down) sets its own
   * retry, with backoff, and returns: thrown, the runtime would retry it a few times and then drop
   * the alarm with the outbox unsent. Every step is idempotent, so a retried run redoes nothing.
   */
  async run(parts: LoopParts): Promise<void> {
    // The alarm that woke us is spent. One set from here on was asked for by a call that came in
    // while this run awaited D1 or the queue (the object takes calls then): see setNextAlarm.
    this.alarmAt = null;
    const now = parts.clock();
    let next: number | undefined;
    try {
      next = await this.runOnce(parts, now);
      this.failedRuns = 0;
    } catch (error) {
      this.failedRuns++;
      createLogger(undefined).error("dispatcher: alarm run failed, retrying", {
        failed_runs: this.failedRuns,
        error,
      });
      next = now + 1000 * backoffSeconds(this.failedRuns, RETRY_BACKOFF);
    }
    await this.setNextAlarm(parts.storage, next);
    // After the releases and their next alarm, so that a round's D1 time never holds a message
    // back nor shifts the rate's steps; a failed round is logged and does not fail the run
    // (retention.ts). A backlog brings the alarm forward to its next round.
    const retentionAt = await retentionRound(parts.sql, parts.env, parts.meta, parts.clock());
    if (retentionAt !== undefined) {
      await this.wakeAt(parts.storage, retentionAt);
    }
  }

  /** Brings the alarm forward to `at` (never pushes it back). */
  async wakeAt(storage: DurableObjectStorage, at: number): Promise<void> {
    if (this.alarmAt === undefined) {
      this.alarmAt = await storage.getAlarm();
    }
    if (this.alarmAt === null || this.alarmAt > at) {
      await this.setAlarmAt(storage, at);
    }
  }

  /** Logs, sweeps, reconciles and releases; returns when the outbox next needs a run. */
  private async runOnce(parts: LoopParts, now: number): Promise<number | undefined> {
    const { sql, env, meta } = parts;
    // First: what it finds written is what the reconciling below reads.
    await writeKeptOutcomes(sql, env);
    await flushBatches(sql, env.DB);
    const moreToLog = await flushToSendLog(sql, env, meta, now);
    await sweepExpired(sql, env, meta, now);
    const retry = await reconcileStaleReleases(sql, env, meta, now);
    if (retry) {
      await enqueue(parts, retry);
    }
    const logs = await logsOf(env, meta.tenantId(sql));
    const release = await releaseDue(sql, env.DB, logs, meta, now);
    if (release.ids) {
      await enqueue(parts, { ...release, ids: release.ids });
    }
    this.pruneIdempotency(sql, now);
    dropAbandonedStages(sql, now);
    const end = parts.clock();
    return nextAlarmAt(sql, meta, end, {
      moreToLog,
      logBy: end + COALESCE_MS,
      nextTick: release.rateLimited ? end + RELEASE_TICK_MS : undefined,
      releaseTimeoutMs: settingsOf(env).RELEASE_TIMEOUT_SECONDS * 1000,
      bulkWindow: bulkWindow(await meta.sendRate(sql, env.DB)),
    });
  }

  private pruneIdempotency(sql: SqlStorage, now: number): void {
    if (now - this.prunedAt < IDEMPOTENCY_PRUNE_EVERY_MS) {
      return;
    }
    this.prunedAt = now;
    forgetExpiredKeys(sql, now);
    forgetCommittedBatches(sql, now);
  }

  /**
   * Sets the alarm a run ends with: `at` (from the outbox), or the earlier time a call asked for
   * during the run, never later. Without either, nothing waits and no alarm is left.
   */
  private async setNextAlarm(storage: DurableObjectStorage, at: number | undefined): Promise<void> {
    const requested = this.alarmAt ?? undefined;
    const next = requested === undefined || (at !== undefined && at < requested) ? at : requested;
    if (next === undefined) {
      await storage.deleteAlarm();
      this.alarmAt = null;
    } else if (next !== requested) {
      await this.setAlarmAt(storage, next);
    }
  }

  private async setAlarmAt(storage: DurableObjectStorage, at: number): Promise<void> {
    await storage.setAlarm(at);
    this.alarmAt = at;
  }
}

/** Released messages for the queues: `smsFallbacks` go as their SMS fallback, `bulk` to the bulk queue. */
interface Released {
  ids: string[];
  smsFallbacks: ReadonlySet<string>;
  bulk: ReadonlySet<string>;
}

/**
 * Puts released messages on their lane's queue: transactional ones on DISPATCH_QUEUE, bulk ones
 * on BULK_DISPATCH_QUEUE, so that a marketing flood, this tenant's or any other's, never stands
 * between a verification code and its consumer (a queue delivers roughly in order of arrival and
 * its consumers are shared by every tenant). The transactional ones go first.
 */
async function enqueue({ sql, env, meta }: LoopParts, released: Released): Promise<void> {
  const tenantId = meta.tenantId(sql);
  if (!tenantId || released.ids.length === 0) {
    return;
  }
  const shard = meta.shard(sql);
  // Each job names the send-log partition holding its message (partitions.ts).
  const partitions = await partitionsOf(sql, env, tenantId, released.ids);
  const job = (messageId: string): MessageSendRequest<DispatchJob> => ({
    body: dispatchJobSchema.parse({
      v: 1,
      tenant_id: tenantId,
      message_id: messageId,
      ...sendLogField(partitions.get(messageId)),
      ...(released.smsFallbacks.has(messageId) ? { sms_fallback: true } : {}),
      ...(shard > 0 ? { shard } : {}),
    }),
    contentType: "json",
  });
  const transactional = released.ids.filter((id) => !released.bulk.has(id));
  const bulk = released.ids.filter((id) => released.bulk.has(id));
  await sendInBatches(env.DISPATCH_QUEUE, transactional.map(job));
  await sendInBatches(env.BULK_DISPATCH_QUEUE, bulk.map(job));
}

function sendLogField(name: string | undefined): { send_log?: string } {
  return name === undefined || name === MAIN_PARTITION ? {} : { send_log: name };
}

async function sendInBatches(queue: Queue, jobs: MessageSendRequest<DispatchJob>[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += QUEUE_BATCH) {
    await queue.sendBatch(jobs.slice(i, i + QUEUE_BATCH));
  }
}
