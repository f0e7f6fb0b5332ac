/**
 * Production safety net, run by cron: a tenant with messages that have sat unfinished far longer
 * than any retry schedule gets its dispatcher woken, which reconciles them against the send log.
 * Each sweep goes over every send-log partition (db/send-log-partitions `allSendLogs`).
 */
import { and, eq, inArray, lt } from "drizzle-orm";
import { database } from "../../db/client";
import { messages, pendingReceipts, webhookDeliveries } from "../../db/schema";
import { allSendLogs } from "../../db/send-log-partitions";
import { enqueueDeliveries } from "../../delivery/webhook-events";
import { createLogger } from "../../lib/log";
import { shardCounts, shardStubs } from "./dispatch-shards";

const STALL_MS = 60 * 60 * 1000;
const HELD_RECEIPT_MS = 24 * 60 * 60 * 1000;
/** Far past any queue delay: a pending delivery this overdue has lost its queue job. */
const STRANDED_DELIVERY_MS = 60 * 60 * 1000;

/** Returns the tenants whose dispatchers were woken. */
export async function wakeStalledDispatchers(
  env: Env,
  now: number = Date.now(),
): Promise<string[]> {
  const found = new Set<string>();
  for (const log of allSendLogs(env)) {
    const here = await database(log)
      .selectDistinct({ tenantId: messages.tenantId })
      .from(messages)
      .where(
        and(
          inArray(messages.status, ["queued", "sending", "sent"]),
          lt(messages.updatedAt, now - STALL_MS),
        ),
      )
      .limit(1000);
    for (const row of here) {
      found.add(row.tenantId);
    }
  }
  const rows = [...found].slice(0, 1000).map((tenantId) => ({ tenantId }));
  const counts = await shardCounts(
    env,
    rows.map((row) => row.tenantId),
  );
  await Promise.all(
    rows.flatMap((row) =>
      shardStubs(env, row.tenantId, counts.get(row.tenantId)).map((stub) => stub.wake()),
    ),
  );
  return rows.map((row) => row.tenantId);
}

/** A held receipt whose send was never recorded within a day will not be; drop it. */
export async function dropStaleHeldReceipts(env: Env, now: number = Date.now()): Promise<number> {
  const deleted: { provider: string; providerMessageId: string }[] = [];
  for (const log of allSendLogs(env)) {
    deleted.push(
      ...(await database(log)
        .delete(pendingReceipts)
        .where(lt(pendingReceipts.receivedAt, now - HELD_RECEIPT_MS))
        .returning({
          provider: pendingReceipts.provider,
          providerMessageId: pendingReceipts.providerMessageId,
        })),
    );
  }
  if (deleted.length > 0) {
    // Receipts for messages we never sent (or sent under another id): worth a look.
    createLogger(env.LOG_LEVEL, { cron: "housekeeping" }).warn(
      "held receipts matched no send within a day, dropped",
      {
        count: deleted.length,
        provider_message_ids: deleted.map((row) => `${row.provider}:${row.providerMessageId}`),
      },
    );
  }
  return deleted.length;
}

/**
 * Webhook deliveries still pending an hour after they were due: written, but their queue job was
 * lost (the send after the write failed). Queued again; the consumer skips what is no longer due.
 */
export async function requeueStrandedDeliveries(
  env: Env,
  now: number = Date.now(),
): Promise<number> {
  let count = 0;
  for (const log of allSendLogs(env)) {
    const rows = await database(log)
      .select({ id: webhookDeliveries.id, createdAt: webhookDeliveries.createdAt })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.status, "pending"),
          lt(webhookDeliveries.nextAttemptAt, now - STRANDED_DELIVERY_MS),
        ),
      )
      .limit(1000);
    if (rows.length > 0) {
      createLogger(env.LOG_LEVEL, { cron: "housekeeping" }).warn(
        "stranded webhook deliveries queued again",
        { count: rows.length, delivery_ids: rows.map((row) => row.id) },
      );
      // Each job names the partition its delivery is on.
      await enqueueDeliveries(
        env,
        rows.map((row) => ({ id: row.id, seriesStartedAt: row.createdAt })),
        log,
      );
    }
    count += rows.length;
  }
  return count;
}
