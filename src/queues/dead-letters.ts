/**
 * Dead-letter consumer for DISPATCH_QUEUE and BULK_DISPATCH_QUEUE (each has its own dead-letter
 * queue, both served here).
 *
 * Receives jobs the dispatch consumer could not finish within the queue's max_retries.
 * Guarantees: the message ends `failed` with the reason (unless it already reached a send result)
 * and its `message.failed` event goes out, and its dispatcher hears of it so the recipient's next
 * message may go. A message a dispatch consumer holds right now (a live claim) is looked at again
 * after that claim. Never: sends anything, or fails a message while a consumer may be sending it.
 */
import { dispatcherOfKey, shardKey } from "../delivery/dispatcher";
import type { SendResult } from "../delivery/dispatcher-types";
import { dispatchJobSchema } from "../delivery/payloads";
import { sendLogNamed } from "../delivery/send-logs";
import { failUnlessDone } from "../delivery/status-writer";
import { createLogger } from "../lib/log";

export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const reports = new Map<string, SendResult[]>();
  const log = createLogger(env.LOG_LEVEL, { queue: "dispatch-dlq" });
  for (const queued of batch.messages) {
    const job = dispatchJobSchema.safeParse(queued.body);
    if (!job.success) {
      log.error("dead letter: unreadable job, dropped", {
        queue_message_id: queued.id,
        payload: queued.body,
      });
      queued.ack();
      continue;
    }
    const { tenant_id: tenantId, message_id: messageId } = job.data;
    try {
      const now = Date.now();
      const reason = `dead-lettered: the dispatch queue gave up after ${queued.attempts} deliveries`;
      // With its `message.failed`, in the same D1 batch.
      // On the send-log partition its job names (delivery/send-logs).
      const sendLog = sendLogNamed(env, job.data.send_log);
      const outcome = await failUnlessDone(env, sendLog, messageId, reason, now);
      if (outcome.kind === "held") {
        // Its consumer reports the result itself; if that consumer dies, its claim lapses.
        queued.retry({ delaySeconds: Math.ceil((outcome.until - now) / 1000) + 1 });
        continue;
      }
      // To the shard that released it (domain/dispatch-shards).
      const key = shardKey(tenantId, job.data.shard);
      const list = reports.get(key) ?? [];
      list.push({ id: messageId, outcome: "final" });
      reports.set(key, list);
      queued.ack();
    } catch (error) {
      log.error("dead letter: could not record, will retry", {
        tenant_id: tenantId,
        message_id: messageId,
        error,
      });
      queued.retry();
    }
  }
  await Promise.all(
    [...reports].map(([key, results]) => dispatcherOfKey(env, key).reportResults(results)),
  );
}
