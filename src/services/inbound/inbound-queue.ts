/**
 * INBOUND_QUEUE: what happens to an inbound SMS after the carrier hook stored it and answered
 * (services/inbound/receive), and its dead-letter consumer. Here, not in queues/: the handling's
 * stages are services.
 *
 * Receives `InboundJob`s (at least once, in any order, possibly twice). For each stored message
 * whose handling lacks `done`: emits `inbound.received` (its event id comes from the inbound id,
 * so emitting it again delivers nothing twice) and runs `handleInbound` (each stage idempotent on
 * the inbound id), which marks the row `done`; then acks. A message already done, or gone, is
 * acked without anything run again. A failure retries the queue message (its step runs again);
 * after max_retries the dead-letter consumer writes why on the row's handling (still not `done`,
 * so the carrier's retry of the callback enqueues it again).
 * Also carries the desk's `desk_answer` jobs (services/desk/timeout-answers), taken out first.
 */
import { inArray } from "drizzle-orm";
import { z } from "zod";
import { database } from "../../db/client";
import { inboundMessages } from "../../db/schema";
import { emitInboundReceived } from "../../delivery/inbound-store";
import { createLogger, type Logger } from "../../lib/log";
import { consumeDeskAnswers } from "../desk/timeout-answers";
import { handleInbound } from "./handling";
import type { InboundRow, InboundStage } from "./stage";

export const inboundJobSchema = z.object({
  v: z.literal(1),
  inbound_id: z.string().min(1),
});
export type InboundJob = z.infer<typeof inboundJobSchema>;

/** The queue messages for stored rows (each once), as the hook sends them. */
export function inboundJobsOf(rows: readonly InboundRow[]): { body: InboundJob }[] {
  return [...new Set(rows.map((row) => row.id))].map((id) => ({
    body: { v: 1, inbound_id: id },
  }));
}

/** Retry delay for a batch whose D1 reads or event emission failed. */
const BATCH_RETRY_SECONDS = 5;

export interface InboundQueueOptions {
  /** The handling's stages; tests pass their own. */
  stages?: readonly InboundStage[];
}

export async function consumeInbound(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
  options: InboundQueueOptions = {},
): Promise<void> {
  const log = createLogger(env.LOG_LEVEL, { queue: "inbound" });
  const inbound = await consumeDeskAnswers(batch.messages, env);
  const byId = jobsOf(inbound, "inbound", log);
  if (byId.size === 0) {
    return;
  }
  const retry = (ids: Iterable<string>, delaySeconds?: number) => {
    for (const id of ids) {
      for (const queued of byId.get(id) ?? []) {
        queued.retry(delaySeconds === undefined ? undefined : { delaySeconds });
      }
    }
  };
  const ack = (id: string) => {
    for (const queued of byId.get(id) ?? []) {
      queued.ack();
    }
  };

  let rows: InboundRow[];
  try {
    rows = await rowsOf(env, [...byId.keys()]);
  } catch (error) {
    log.error("inbound: could not load messages, will retry", {
      inbound_ids: [...byId.keys()],
      error,
    });
    retry(byId.keys(), BATCH_RETRY_SECONDS);
    return;
  }
  const pending = rows.filter((row) => row.handling.done !== true);
  const pendingIds = new Set(pending.map((row) => row.id));
  // Done already (a redelivery, or a second post's message), or gone: nothing to run again.
  for (const id of byId.keys()) {
    if (!pendingIds.has(id)) {
      ack(id);
    }
  }
  if (pending.length === 0) {
    return;
  }
  try {
    await emitInboundReceived(env, pending);
  } catch (error) {
    log.error("inbound: could not emit inbound.received, will retry", {
      inbound_ids: [...pendingIds],
      error,
    });
    retry(pendingIds, BATCH_RETRY_SECONDS);
    return;
  }
  for (const row of pending) {
    try {
      await handleInbound(env, row, ctx, options.stages);
      ack(row.id);
    } catch (error) {
      log.error("inbound: handling failed, will retry", {
        tenant_id: row.tenantId,
        inbound_id: row.id,
        error,
      });
      retry([row.id]);
    }
  }
}

/** The reason the dead-letter consumer writes on a row's handling (under `dead_lettered`). */
export function deadLetterReason(attempts: number): string {
  return `the inbound queue gave up after ${attempts} deliveries; the carrier's retry of the callback, if any, handles it again`;
}

/**
 * Dead-letter consumer: a message whose handling failed max_retries times. Writes why on its
 * handling (unless done meanwhile), keeping what the stages recorded; never runs a stage.
 */
export async function consumeInboundDeadLetters(
  batch: MessageBatch<unknown>,
  env: Env,
): Promise<void> {
  const log = createLogger(env.LOG_LEVEL, { queue: "inbound-dlq" });
  for (const [id, queued] of jobsOf(batch.messages, "inbound dead letter", log)) {
    const attempts = Math.max(...queued.map((q) => q.attempts));
    try {
      log.error("inbound dead letter: handling given up", { inbound_id: id, attempts });
      await env.DB.prepare(
        `UPDATE inbound_messages SET handling = json_set(handling, '$.dead_lettered', ?)
         WHERE id = ? AND json_extract(handling, '$.done') IS NOT 1`,
      )
        .bind(deadLetterReason(attempts), id)
        .run();
      for (const q of queued) {
        q.ack();
      }
    } catch (error) {
      log.error("inbound dead letter: could not record, will retry", { inbound_id: id, error });
      for (const q of queued) {
        q.retry();
      }
    }
  }
}

/** The batch's readable jobs by inbound id (an unreadable one is acked and logged). */
function jobsOf(
  messages: readonly Message<unknown>[],
  what: string,
  log: Logger,
): Map<string, Message<unknown>[]> {
  const byId = new Map<string, Message<unknown>[]>();
  for (const queued of messages) {
    const job = inboundJobSchema.safeParse(queued.body);
    if (!job.success) {
      log.error(`${what}: unreadable job, dropped`, {
        queue_message_id: queued.id,
        payload: queued.body,
      });
      queued.ack();
      continue;
    }
    const list = byId.get(job.data.inbound_id) ?? [];
    list.push(queued);
    byId.set(job.data.inbound_id, list);
  }
  return byId;
}

async function rowsOf(env: Env, ids: string[]): Promise<InboundRow[]> {
  const found: InboundRow[] = [];
  for (let i = 0; i < ids.length; i += 90) {
    found.push(
      ...(await database(env.DB)
        .select()
        .from(inboundMessages)
        .where(inArray(inboundMessages.id, ids.slice(i, i + 90)))),
    );
  }
  return found;
}
