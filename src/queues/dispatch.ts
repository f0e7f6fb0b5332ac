/**
 * DISPATCH_QUEUE and BULK_DISPATCH_QUEUE consumer (the transactional and the bulk lane's queue,
 * served alike): sends released messages through their provider.
 *
 * Receives `DispatchJob`s (at least once, in any order, possibly twice at the same time).
 * Guarantees: one provider call per attempt, held by a claim on the message row, so a duplicate
 * delivery never sends twice; every attempt is written before its call (as "no answer yet") and
 * its answer after, to D1, or, when D1 is down for longer than a few retries, to the tenant's
 * dispatcher, which writes it to D1 later; a claim that lapsed with no answer recorded is an
 * unknown outcome (the same provider again, never a second one), which is first asked whether it
 * has the message already (reconcile.ts: found, it is recorded sent and not sent again); each
 * queue message is acked or retried on its own; retryable failures retry with exponential backoff and jitter, up to
 * MAX_ATTEMPTS, then the message ends `failed` with the reason; results go back to the tenant's
 * dispatcher in one call per tenant per batch. A message WeChat gave up on, switched in D1 to its
 * SMS fallback (queues/fallback.ts), is acked and handed back to its dispatcher with those
 * results, and only the dispatcher's release of that SMS (a job marked `sms_fallback`) may send
 * it, in its phone's turn; until its SMS has a result, no copy of a job reports it sent. The
 * whole batch costs three D1 round trips in the common case (the claim, the attempts before their
 * calls, the results), whatever its size.
 * Never: acks a message that has not reached a send result or gone back to its dispatcher, or
 * whose provider's answer is not durably kept (in D1, or with its dispatcher).
 */
import type { AdapterIO } from "../channels/adapter";
import { type OutboundAdapters, outboundAdapters } from "../channels/registry";
import { type Settings, settingsOf } from "../config/settings";
import { type Database, database } from "../db/client";
import { FINAL_STATUSES, startAttempts } from "../db/message-log";
import { MAIN_PARTITION } from "../db/send-log-partitions";
import { dispatcherOf, dispatcherOfKey, shardKey } from "../delivery/dispatcher";
import { outboxMessageOfLogged, type SendResult } from "../delivery/dispatcher-types";
import { dispatchJobSchema } from "../delivery/payloads";
import { partitionNameOf, sendLogNamed } from "../delivery/send-logs";
import { serviceWindowOpen } from "../delivery/service-windows";
import {
  claimForSending,
  type OutcomeRecord,
  recordAttempts,
  SMS_FALLBACK_CLAIM,
} from "../delivery/status-writer";
import { wechatAccountOf } from "../delivery/wechat-account";
import type { AttemptOutcome } from "../domain/vocabulary";
import { createLogger, type Logger } from "../lib/log";
import { recordSendMetric } from "../lib/send-metrics";
import { retryDelay, type Sent, type Verdict } from "./attempt-outcomes";
import { planDeliveries } from "./delivery-plan";
import { logReconciliations } from "./reconcile";
import { gatheringSender } from "./send-many";
import { sendOne } from "./send-one";

/** Twice the longest provider call (`timeout_ms` is at most 30 s, domain/providers). */
const CLAIM_MS = 60_000;

/** A queue message doing the work for its message id. */
interface Delivery {
  queued: Message<unknown>;
  tenantId: string;
  /** The dispatcher's release of the message's SMS fallback (payloads.ts). */
  smsRelease: boolean;
  /** The dispatcher shard that released it; undefined: shard 0. */
  shard: number | undefined;
  /** The send-log partition holding the message (delivery/send-logs). */
  sendLog: string;
}

export interface DispatchDeps {
  /** `fetch` for providers; requests to our own public URL are served in-process. */
  fetch: (request: Request) => Promise<Response>;
  now?: () => number;
  random?: () => number;
  /** Adapters to use instead of the registry's; tests swap in fakes. */
  adapters?: Partial<OutboundAdapters>;
}

export async function consumeDispatch(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
  deps: DispatchDeps,
): Promise<void> {
  const settings = settingsOf(env);
  const now = deps.now ?? Date.now;
  const log = createLogger(env.LOG_LEVEL, { queue: "dispatch" });

  // One queue message per message id does the work; a copy in the same batch is redundant, but
  // the dispatcher's release of an SMS fallback is the one that may send it (payloads.ts).
  const byId = new Map<string, Delivery>();
  for (const queued of batch.messages) {
    const job = dispatchJobSchema.safeParse(queued.body);
    if (!job.success) {
      // Nothing can be done with a payload we cannot read; retrying would not change it.
      log.error("dispatch: unreadable job, dropped", {
        queue_message_id: queued.id,
        payload: queued.body,
      });
      queued.ack();
      continue;
    }
    const id = job.data.message_id;
    const kept = byId.get(id);
    const smsRelease = job.data.sms_fallback === true;
    if (kept && (kept.smsRelease || !smsRelease)) {
      queued.ack();
      continue;
    }
    kept?.queued.ack();
    // Results go back to the shard that released the message (domain/dispatch-shards).
    byId.set(id, {
      queued,
      tenantId: job.data.tenant_id,
      smsRelease,
      shard: job.data.shard,
      sendLog: job.data.send_log ?? MAIN_PARTITION,
    });
  }
  if (byId.size === 0) {
    return;
  }

  // Each message is worked on in the send-log partition that holds it, which its job names: one
  // round of claims, attempts and results per partition in the batch (one in the common case).
  const byPartition = new Map<string, [string, Delivery][]>();
  for (const entry of byId) {
    byPartition.set(entry[1].sendLog, [...(byPartition.get(entry[1].sendLog) ?? []), entry]);
  }
  const verdicts = new Map<string, Verdict>();
  for (const [partition, entries] of byPartition) {
    const ids = entries.map(([id]) => id);
    try {
      const smsReleases = new Set(entries.filter(([, d]) => d.smsRelease).map(([id]) => id));
      const sendLog = sendLogNamed(env, partition);
      const found = await dispatchAll(ids, smsReleases, env, ctx, deps, settings, sendLog, now);
      for (const [id, verdict] of found) {
        verdicts.set(id, verdict);
      }
    } catch (error) {
      log.error("dispatch: batch failed, will retry", {
        message_ids: ids,
        tenant_ids: [...new Set(entries.map(([, { tenantId }]) => tenantId))],
        error,
      });
      for (const [id, { queued }] of entries) {
        verdicts.set(id, {
          ack: false,
          delaySeconds: retryDelay(queued.attempts, settings, deps),
        });
      }
    }
  }

  const reports = new Map<string, SendResult[]>();
  for (const [id, { queued, tenantId, shard }] of byId) {
    const verdict = verdicts.get(id) ?? { ack: false, delaySeconds: 5 };
    if (verdict.report) {
      const key = shardKey(tenantId, shard);
      const list = reports.get(key);
      if (list) {
        list.push(verdict.report);
      } else {
        reports.set(key, [verdict.report]);
      }
    }
    if (verdict.ack) {
      queued.ack();
    } else {
      queued.retry({ delaySeconds: verdict.delaySeconds });
    }
  }
  await Promise.all(
    [...reports].map(([key, results]) => dispatcherOfKey(env, key).reportResults(results)),
  );
}

async function dispatchAll(
  ids: string[],
  smsReleases: ReadonlySet<string>,
  env: Env,
  ctx: ExecutionContext,
  deps: DispatchDeps,
  settings: Settings,
  sendLog: D1Database,
  now: () => number,
): Promise<Map<string, Verdict>> {
  const db = database(sendLog);
  const claimId = crypto.randomUUID();
  const claimed = await claimForSending(env, sendLog, ids, claimId, now(), CLAIM_MS, smsReleases);
  const claimedIds = new Set(claimed.map((m) => m.id));
  const verdicts = await alreadyHandled(
    db,
    ids.filter((id) => !claimedIds.has(id)),
    smsReleases,
    now(),
  );

  const io: AdapterIO = {
    fetch: deps.fetch,
    now,
    waitUntil: (work) => ctx.waitUntil(work),
    // WeChat's: the app's token authority, and the follower's window as D1 has it.
    accessToken: (request) => wechatAccountOf(env, request.appId).accessToken(request),
    serviceWindowOpen: (follower, at) => serviceWindowOpen(env.DB, follower, at),
  };
  const adapters = { ...outboundAdapters, ...deps.adapters };
  const plans = await planDeliveries(env, db, claimed, adapters, settings.PUBLIC_BASE_URL, now());
  // Written before any provider is called, so that a claim which lapses with nothing recorded
  // leaves behind where its message may have gone.
  await startAttempts(
    sendLog,
    claimed.flatMap((message) => {
      const provider = plans.get(message.id)?.provider;
      return provider ? [{ message, provider }] : [];
    }),
    now(),
  );
  const send = gatheringSender(io);
  const settled = await Promise.allSettled(
    claimed.map((message) =>
      sendOne(sendLog, message, claimId, plans.get(message.id), adapters, send, io, deps, settings),
    ),
  );
  // A send that threw (a bug, or a Durable Object call that failed) must not cost the others their
  // record: theirs is written, and it alone is looked at again once its claim has lapsed.
  const sent = settled.flatMap((outcome, i) => {
    if (outcome.status === "fulfilled") {
      return [outcome.value];
    }
    const id = claimed[i]?.id;
    createLogger(env.LOG_LEVEL, { queue: "dispatch" }).error(
      "dispatch: a send threw, retried after its claim",
      { message_id: id, tenant_id: claimed[i]?.tenantId, error: outcome.reason },
    );
    if (id) {
      verdicts.set(id, { ack: false, delaySeconds: Math.ceil(CLAIM_MS / 1000) });
    }
    return [];
  });
  const records = sent.map(({ message, attempt, change }) => ({ message, attempt, change }));
  await recordOrKeep(env, sendLog, records);
  const log = createLogger(env.LOG_LEVEL);
  const metrics = env.SEND_METRICS_ENABLED === "false" ? undefined : env.SEND_METRICS;
  for (const { attempt } of records) {
    if (attempt) {
      recordSendMetric(metrics, attempt);
      logSendAttempt(log, attempt);
    }
  }
  for (const result of sent) {
    verdicts.set(result.message.id, result.verdict);
  }
  logReconciliations(
    createLogger(env.LOG_LEVEL, { queue: "dispatch" }),
    sent.flatMap(({ message, attempt, reconciliation }) =>
      reconciliation ? [{ messageId: message.id, provider: attempt.provider, reconciliation }] : [],
    ),
  );
  return verdicts;
}

/**
 * Messages the claim did not take: done ones are acked (and reported again, which is harmless),
 * ones another consumer holds right now are looked at again after its claim. So is a fallback
 * SMS with no send time yet, being sent: its WeChat part's result is no send result of its own,
 * and reporting it would free its phone's next message early. One whose SMS waits for the
 * dispatcher, found by a job that is not the dispatcher's release of it (a copy of the WeChat
 * send's job, or its redelivery after a consumer died before the hand-over), is handed to the
 * dispatcher again, which keeps one of it, and acked: the dispatcher's release sends it.
 */
async function alreadyHandled(
  db: Database,
  ids: string[],
  smsReleases: ReadonlySet<string>,
  now: number,
): Promise<Map<string, Verdict>> {
  const verdicts = new Map<string, Verdict>();
  if (ids.length === 0) {
    return verdicts;
  }
  // Whole rows: a handed-over one goes back to its dispatcher as it is. Only the messages not
  // claimed are read, which an ordinary send has none of.
  const rows = await db.query.messages.findMany({
    where: (m, { inArray }) => inArray(m.id, ids),
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  const afterClaim: Verdict = { ack: false, delaySeconds: Math.ceil(CLAIM_MS / 1000) };
  for (const id of ids) {
    const row = byId.get(id);
    if (row === undefined) {
      // Released before its send-log row is readable (the dispatcher logs first); look again soon.
      verdicts.set(id, { ack: false, delaySeconds: 5 });
    } else if (FINAL_STATUSES.includes(row.status)) {
      verdicts.set(id, { ack: true, report: { id, outcome: "final" } });
    } else if (row.claimId === SMS_FALLBACK_CLAIM && !smsReleases.has(id)) {
      const message = outboxMessageOfLogged(row, now);
      verdicts.set(id, { ack: true, report: { id, outcome: "sms-fallback", message } });
    } else if (row.status === "sent" && row.sentAt === null) {
      verdicts.set(id, afterClaim);
    } else if (row.status === "sent") {
      verdicts.set(id, { ack: true, report: { id, outcome: "sent" } });
    } else {
      verdicts.set(id, afterClaim);
    }
  }
  return verdicts;
}

/**
 * The provider calls have happened: losing their answers would let a later delivery call again.
 * A failed write (the outcomes with their events) is tried a few more times; then each tenant's
 * dispatcher keeps its outcomes and writes them to D1 once D1 takes them.
 */
async function recordOrKeep(
  env: Env,
  sendLog: D1Database,
  records: OutcomeRecord[],
): Promise<void> {
  try {
    return await withRetries(() => recordAttempts(env, sendLog, records));
  } catch (error) {
    createLogger(env.LOG_LEVEL, { queue: "dispatch" }).error(
      "dispatch: D1 did not take the outcomes; the dispatchers keep them",
      { message_ids: records.map(({ message }) => message.id), error },
    );
  }
  const byTenant = new Map<string, OutcomeRecord[]>();
  for (const record of records) {
    byTenant.set(record.message.tenantId, [
      ...(byTenant.get(record.message.tenantId) ?? []),
      record,
    ]);
  }
  // Should this fail too, the batch is retried; each attempt's row written before its call says
  // its outcome is unknown, so the next claim keeps to the same provider (db/message-log).
  await Promise.all(
    [...byTenant].map(([tenantId, list]) =>
      dispatcherOf(env, tenantId).keepOutcomes(list, partitionNameOf(env, sendLog)),
    ),
  );
}

async function withRetries<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= 3) {
        throw error;
      }
      await scheduler.wait(100 * attempt);
    }
  }
}

/**
 * The level of an attempt's line. A sent one is at debug: every attempt is already a row of
 * message_attempts (the API and the dashboard show it) and a point in Analytics Engine
 * (SEND_METRICS), and a line per sent message would be most of the Worker's log volume (Workers
 * Logs bills and caps per line: at 10k msg/s, 864 million lines a day) and, under `wrangler dev`,
 * a third of the send path's CPU (test/bench/RESULTS.md, section 2). What needs a look is at
 * info (a carrier's retryable or permanent refusal) or warn (an outcome not known, which the next
 * claim reconciles before resending).
 */
const ATTEMPT_LEVEL = {
  sent: "debug",
  retryable: "info",
  permanent: "info",
  unknown: "warn",
} as const satisfies Record<AttemptOutcome, "debug" | "info" | "warn">;

/** One provider attempt's log line: ids, provider, outcome and latency, never the text. */
export function logSendAttempt(log: Logger, attempt: NonNullable<Sent["attempt"]>): void {
  log[ATTEMPT_LEVEL[attempt.outcome]]("send attempt", {
    tenant_id: attempt.tenantId,
    message_id: attempt.messageId,
    attempt: attempt.attempt,
    provider: attempt.provider,
    outcome: attempt.outcome,
    reason: attempt.reason,
    latency_ms: attempt.latencyMs,
  });
}
