// The two lanes' dispatch queues (issue 22): the dispatcher releases transactional messages to
// DISPATCH_QUEUE and bulk ones to BULK_DISPATCH_QUEUE, and the one consumer serves both queues and
// both dead-letter queues.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { BatchRecord } from "../../src/delivery/dispatcher-types";
import type { DispatchJob } from "../../src/delivery/payloads";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import worker from "../../src/index";
import { isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage, statusOf } from "../support/messages";
import { createTenant, eventually, postJson } from "../support/tenants";

function bulkBatch(tenantId: string, count: number, batchId: string) {
  const messages = Array.from({ length: count }, (_, n) =>
    outboxMessage(tenantId, `+86139${String(n).padStart(8, "0")}`, { batchId, lane: "bulk" }),
  );
  const record: BatchRecord = {
    id: batchId,
    tenantId,
    templateId: null,
    templateVersion: null,
    kind: "marketing",
    mode: "test",
    accepted: count,
    rejected: 0,
    sendAt: Date.now(),
    createdAt: Date.now(),
    canceledAt: null,
  };
  return { messages, record };
}

async function consume(queue: string, tenantId: string, messageId: string) {
  const batch = createMessageBatch<DispatchJob>(queue, [
    {
      id: "job-0",
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, tenant_id: tenantId, message_id: messageId },
    },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("dispatch queues by lane", () => {
  it("releases a bulk batch to the bulk queue and a single send to the transactional one", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher(1000);
    const { messages, record } = bulkBatch(tenant.id, 5, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0LA1");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    const single = outboxMessage(tenant.id, "+8613800000501");
    await accept(single);
    await runAlarm();
    expect(queue.sentTo.DISPATCH_QUEUE).toEqual([single.id]);
    expect([...queue.sentTo.BULK_DISPATCH_QUEUE].sort()).toEqual(messages.map((m) => m.id).sort());
  });

  it("puts nothing of a bulk flood ahead of a verification code on the transactional queue", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher(2000);
    const { messages, record } = bulkBatch(tenant.id, 600, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0LA2");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await runAlarm();
    // The flood is on its way: hundreds released, no result back yet.
    const flooded = queue.sentTo.BULK_DISPATCH_QUEUE.length;
    expect(flooded).toBeGreaterThanOrEqual(200);

    const code = outboxMessage(tenant.id, "+8613800000502", { kind: "verification" });
    await accept(code);
    await new Promise((resolve) => setTimeout(resolve, 260));
    await runAlarm();
    // The code is first and alone on its queue, however much bulk waits on the other.
    expect(queue.sentTo.DISPATCH_QUEUE).toEqual([code.id]);
    expect(queue.sentTo.BULK_DISPATCH_QUEUE).not.toContain(code.id);
  });

  it("releases a lost bulk message again to the bulk queue, and a transactional one to its own", async () => {
    const { tenant, stub, queue, accept, runAlarm, sql } = await isolatedDispatcher(1000);
    const { messages, record } = bulkBatch(tenant.id, 1, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0LA3");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    const single = outboxMessage(tenant.id, "+8613800000503");
    await accept(single);
    await runAlarm();
    await sql("UPDATE outbox SET released_at = ?", Date.now() - 60_000);
    await runAlarm();
    const bulkId = messages[0]?.id;
    expect(queue.sentTo.DISPATCH_QUEUE).toEqual([single.id, single.id]);
    expect(queue.sentTo.BULK_DISPATCH_QUEUE).toEqual([bulkId, bulkId]);
  });

  it("sends a job from the bulk queue through the same consumer", async () => {
    const tenant = await createTenant();
    const message = outboxMessage(tenant.id, "+8613800000504", { lane: "bulk" });
    await logMessages(env.DB, [message]);
    const result = await consume("relaybox-dispatch-bulk", tenant.id, message.id);
    expect(result.explicitAcks).toEqual(["job-0"]);
    expect(await statusOf(message.id)).toMatch(/^(sent|delivered)$/);
  });

  it("ends a job from the bulk dead-letter queue failed, as from the transactional one", async () => {
    const tenant = await createTenant();
    const message = outboxMessage(tenant.id, "+8613800000505", { lane: "bulk" });
    await logMessages(env.DB, [message]);
    const result = await consume("relaybox-dispatch-bulk-dlq", tenant.id, message.id);
    expect(result.explicitAcks).toEqual(["job-0"]);
    expect(await statusOf(message.id)).toBe("failed");
  });

  it("refuses a batch from a queue it has no consumer for, so the queue keeps it", async () => {
    const tenant = await createTenant();
    const message = outboxMessage(tenant.id, "+8613800000506");
    await logMessages(env.DB, [message]);
    await expect(consume("relaybox-unknown", tenant.id, message.id)).rejects.toThrow(/no consumer/);
    expect(await statusOf(message.id)).toBe("queued");
  });

  it("delivers a batch and a single send through the real queues, each on its lane", async () => {
    const tenant = await createTenant({ sendRate: 1000 });
    const batch = await tenant.api(
      "/v1/batches",
      postJson({
        body: "Sale",
        recipients: Array.from({ length: 3 }, (_, n) => ({ to: `+861390000060${n}` })),
      }),
    );
    expect(batch.status, await batch.clone().text()).toBe(202);
    const { id: batchId } = (await batch.json()) as { id: string };
    const single = await tenant.api("/v1/messages", postJson({ to: "+8613900000610", body: "Hi" }));
    expect(single.status, await single.clone().text()).toBe(202);
    const { id: singleId } = (await single.json()) as { id: string };
    const sentStatuses = ["sent", "delivered"];
    await eventually(
      async () => {
        const { results } = await env.DB.prepare(
          "SELECT status FROM messages WHERE batch_id = ? OR id = ?",
        )
          .bind(batchId, singleId)
          .all<{ status: string }>();
        return results.length === 4 && results.every((r) => sentStatuses.includes(r.status))
          ? true
          : undefined;
      },
      10_000,
      "the batch and the single send to be sent",
    );
  });
});
