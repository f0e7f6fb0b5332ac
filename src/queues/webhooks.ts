/**
 * WEBHOOK_QUEUE consumer: delivers events to tenants' endpoints, and its dead-letter consumer.
 *
 * Receives `WebhookJob`s (at least once, in any order, possibly twice). For each pending
 * delivery it re-checks the endpoint's URL (rules or settings may have changed since it was
 * saved), signs the stored body with the endpoint's current secret and POSTs it, at most six at
 * a time (a Worker's open connections), each timing out after 10 s. Guarantees: every attempt
 * is appended to the delivery; a 2xx ends it `delivered`; anything else (3xx included: redirects
 * are never followed) retries with exponential backoff and jitter until 24 h after the series
 * began, then ends it `failed`; each queue message is acked or retried on its own.
 * Never: acks a pending delivery without recording why (unless a later message for it is on the
 * queue: a replay's); sends a delivery that is no longer pending (done, or endpoint deleted).
 */
import { inArray } from "drizzle-orm";
import { masterKeysOf, settingsOf } from "../config/settings";
import { database } from "../db/client";
import { webhookDeliveries, webhookEndpoints } from "../db/schema";
import { sendLogNamed } from "../delivery/send-logs";
import {
  ATTEMPT_TIMEOUT_MS,
  attemptDelivery,
  type DeliveryAttempt,
  type DeliveryOutcome,
  recordAttemptStatement,
} from "../delivery/webhook-delivery";
import { type WebhookJob, webhookJobSchema } from "../delivery/webhook-payloads";
import { webhookRetryDelay } from "../domain/webhook-retries";
import { checkWebhookUrl } from "../domain/webhook-urls";
import { createLogger } from "../lib/log";
import { networkFetch } from "../lib/outbound-fetch";
import { decryptSecret } from "../lib/secrets";

type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

export interface WebhookDeps {
  /** `fetch` for tenants' endpoints; tests pass a fake. */
  fetch?: (request: Request) => Promise<Response>;
  now?: () => number;
  random?: () => number;
  timeoutMs?: number;
}

/** A Worker invocation may hold six connections open; more would wait while their time-outs run. */
const PARALLEL_POSTS = 6;
/**
 * A message due this long before the delivery's next attempt belongs to a series a replay (or a
 * second emission) superseded: the delivery already has a later message of its own.
 */
const SUPERSEDED_MS = 60_000;
/** Retry delay for a batch whose D1 work failed. */
const BATCH_RETRY_SECONDS = 30;

type Loaded = { delivery: WebhookDeliveryRow; endpoint: WebhookEndpointRow };

type Result =
  | { ack: true; record?: { attempt: DeliveryAttempt; outcome: DeliveryOutcome } }
  | {
      ack: false;
      delaySeconds: number;
      record: { attempt: DeliveryAttempt; outcome: DeliveryOutcome };
    };

export async function consumeWebhooks(
  batch: MessageBatch<unknown>,
  env: Env,
  deps: WebhookDeps = {},
): Promise<void> {
  const now = deps.now ?? Date.now;
  const log = createLogger(env.LOG_LEVEL, { queue: "webhooks" });
  const jobs = new Map<string, { queued: Message<unknown>; job: WebhookJob }>();
  for (const queued of batch.messages) {
    const parsed = webhookJobSchema.safeParse(queued.body);
    if (!parsed.success) {
      log.error("webhooks: unreadable job, dropped", {
        queue_message_id: queued.id,
        payload: queued.body,
      });
      queued.ack();
      continue;
    }
    const id = parsed.data.delivery_id;
    const other = jobs.get(id);
    // Two messages for one delivery: the later series is the one that counts.
    if (other && other.job.series_started_at >= parsed.data.series_started_at) {
      queued.ack();
      continue;
    }
    other?.queued.ack();
    jobs.set(id, { queued, job: parsed.data });
  }
  if (jobs.size === 0) {
    return;
  }

  let loaded: Map<string, Loaded>;
  try {
    loaded = await loadDeliveries(
      env,
      [...jobs.values()].map(({ job }) => job),
    );
  } catch (error) {
    log.error("webhooks: could not load deliveries, will retry", {
      delivery_ids: [...jobs.keys()],
      error,
    });
    for (const { queued } of jobs.values()) {
      queued.retry({ delaySeconds: BATCH_RETRY_SECONDS });
    }
    return;
  }

  const entries = [...jobs.values()];
  const results = await inParallel(entries, PARALLEL_POSTS, ({ queued, job }) =>
    deliver(queued, job, loaded.get(job.delivery_id), env, deps, now),
  );

  // Each attempt is recorded on the partition holding its delivery: one batch per partition.
  const statements = new Map<D1Database, D1PreparedStatement[]>();
  entries.forEach(({ job }, i) => {
    const record = results[i]?.record;
    if (record) {
      const db = sendLogNamed(env, job.send_log);
      const statement = recordAttemptStatement(
        db,
        job.delivery_id,
        record.attempt,
        record.outcome,
        now(),
      );
      statements.set(db, [...(statements.get(db) ?? []), statement]);
    }
  });
  try {
    for (const [db, list] of statements) {
      await db.batch(list);
    }
  } catch (error) {
    // The attempts happened but are not on record: try them again (endpoints see the event id
    // twice, which at-least-once delivery allows).
    log.error("webhooks: could not record attempts, will retry", {
      delivery_ids: [...jobs.keys()],
      error,
    });
    for (const { queued } of entries) {
      queued.retry({ delaySeconds: BATCH_RETRY_SECONDS });
    }
    return;
  }
  entries.forEach(({ queued }, i) => {
    const result = results[i];
    if (!result || result.ack) {
      queued.ack();
    } else {
      queued.retry({ delaySeconds: result.delaySeconds });
    }
  });
}

async function deliver(
  queued: Message<unknown>,
  job: WebhookJob,
  loaded: Loaded | undefined,
  env: Env,
  deps: WebhookDeps,
  now: () => number,
): Promise<Result> {
  // Gone, or its endpoint gone (deleting one deletes its deliveries), or done: nothing to send.
  if (loaded?.delivery.status !== "pending") {
    return { ack: true };
  }
  const { delivery, endpoint } = loaded;
  if (delivery.nextAttemptAt !== null && delivery.nextAttemptAt - now() > SUPERSEDED_MS) {
    return { ack: true };
  }
  const check = checkWebhookUrl(endpoint.url, {
    allowLocalHttp: settingsOf(env).WEBHOOK_ALLOW_LOCAL_HTTP,
  });
  if (!check.ok) {
    const attempt = { at: now(), statusCode: null, latencyMs: 0 };
    const error = `not sent: the endpoint's URL is refused (${check.reasons.join("; ")})`;
    return {
      ack: true,
      record: {
        attempt: { ...attempt, error },
        outcome: { status: "failed", nextAttemptAt: null },
      },
    };
  }
  let secret: string;
  try {
    secret = await decryptSecret(masterKeysOf(env), "webhook-secret", endpoint.secretCiphertext);
  } catch {
    const attempt = { at: now(), statusCode: null, latencyMs: 0 };
    return failed(
      queued,
      job,
      { ...attempt, error: "not sent: the signing secret is unreadable" },
      deps,
      now,
    );
  }
  const { delivered, attempt } = await attemptDelivery(
    { url: check.url.href, secret, eventId: delivery.eventId, payload: delivery.payload },
    {
      fetch: deps.fetch ?? networkFetch,
      now,
      timeoutMs: deps.timeoutMs ?? ATTEMPT_TIMEOUT_MS,
    },
  );
  if (delivered) {
    return {
      ack: true,
      record: { attempt, outcome: { status: "delivered", nextAttemptAt: null } },
    };
  }
  return failed(queued, job, attempt, deps, now);
}

/** A failed attempt: retried later within the series' 24 h, else the delivery has failed. */
function failed(
  queued: Message<unknown>,
  job: WebhookJob,
  attempt: DeliveryAttempt,
  deps: WebhookDeps,
  now: () => number,
): Result {
  const at = now();
  // The queue counts deliveries of this message, and a replay sends a new message: this is
  // the attempt's number within its series.
  const delaySeconds = webhookRetryDelay(queued.attempts, job.series_started_at, at, deps.random);
  if (delaySeconds === null) {
    return { ack: true, record: { attempt, outcome: { status: "failed", nextAttemptAt: null } } };
  }
  return {
    ack: false,
    delaySeconds,
    record: { attempt, outcome: { status: "pending", nextAttemptAt: at + delaySeconds * 1000 } },
  };
}

/**
 * The jobs' deliveries, each from the send-log partition its job names, with their endpoints
 * from the main database (two queries: the partitions hold no endpoints). A delivery whose
 * endpoint is gone is left out.
 */
async function loadDeliveries(env: Env, jobs: WebhookJob[]): Promise<Map<string, Loaded>> {
  const byPartition = new Map<D1Database, string[]>();
  for (const job of jobs) {
    const db = sendLogNamed(env, job.send_log);
    byPartition.set(db, [...(byPartition.get(db) ?? []), job.delivery_id]);
  }
  const deliveries: WebhookDeliveryRow[] = [];
  for (const [d1, ids] of byPartition) {
    // D1 binds at most 100 parameters per query.
    for (let i = 0; i < ids.length; i += 90) {
      deliveries.push(
        ...(await database(d1)
          .select()
          .from(webhookDeliveries)
          .where(inArray(webhookDeliveries.id, ids.slice(i, i + 90)))),
      );
    }
  }
  const endpoints = new Map<string, WebhookEndpointRow>();
  const endpointIds = [...new Set(deliveries.map((d) => d.endpointId))];
  for (let i = 0; i < endpointIds.length; i += 90) {
    const rows = await database(env.DB)
      .select()
      .from(webhookEndpoints)
      .where(inArray(webhookEndpoints.id, endpointIds.slice(i, i + 90)));
    for (const row of rows) {
      endpoints.set(row.id, row);
    }
  }
  const found = new Map<string, Loaded>();
  for (const delivery of deliveries) {
    const endpoint = endpoints.get(delivery.endpointId);
    if (endpoint && endpoint.tenantId === delivery.tenantId) {
      found.set(delivery.id, { delivery, endpoint });
    }
  }
  return found;
}

/** Runs `work` over `items`, at most `limit` at a time; results in the items' order. */
async function inParallel<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * Dead-letter consumer for WEBHOOK_QUEUE: jobs the consumer could not finish within the queue's
 * max_retries (it crashed on them each time). Their deliveries end `failed`, with a note in
 * their attempts. Never: sends anything.
 */
export async function consumeWebhookDeadLetters(
  batch: MessageBatch<unknown>,
  env: Env,
  now: () => number = Date.now,
): Promise<void> {
  const log = createLogger(env.LOG_LEVEL, { queue: "webhooks-dlq" });
  for (const queued of batch.messages) {
    const job = webhookJobSchema.safeParse(queued.body);
    if (!job.success) {
      log.error("webhooks dead letter: unreadable job, dropped", {
        queue_message_id: queued.id,
        payload: queued.body,
      });
      queued.ack();
      continue;
    }
    const attempt: DeliveryAttempt = {
      at: now(),
      statusCode: null,
      error: "gave up: the webhook queue dead-lettered this delivery",
      latencyMs: 0,
    };
    try {
      await recordAttemptStatement(
        sendLogNamed(env, job.data.send_log),
        job.data.delivery_id,
        attempt,
        { status: "failed", nextAttemptAt: null },
        now(),
      ).run();
      queued.ack();
    } catch (error) {
      log.error("webhooks dead letter: could not record, will retry", {
        delivery_id: job.data.delivery_id,
        error,
      });
      queued.retry();
    }
  }
}
