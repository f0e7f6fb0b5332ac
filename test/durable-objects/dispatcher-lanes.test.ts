import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { BatchRecord, OutboxMessage } from "../../src/delivery/dispatcher-types";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage, statusOf } from "../support/messages";

function batchOf(tenantId: string, count: number, batchId: string, firstNumber = 0) {
  const messages = Array.from({ length: count }, (_, n) =>
    outboxMessage(tenantId, `+86139${String(firstNumber + n).padStart(8, "0")}`, {
      batchId,
      lane: "bulk",
    }),
  );
  const record: BatchRecord = {
    id: batchId,
    tenantId,
    templateId: null,
    templateVersion: null,
    kind: "notification",
    mode: "test",
    accepted: count,
    rejected: 0,
    sendAt: Date.now(),
    createdAt: Date.now(),
    canceledAt: null,
  };
  return { messages, record };
}

async function batchCounts(batchId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    "SELECT status, COUNT(*) AS n FROM messages WHERE batch_id = ? GROUP BY status",
  )
    .bind(batchId)
    .all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

/** `count` released messages of `lane` (0 transactional, 1 bulk) with no send result yet. */
/** `count` released messages (msg_backlog0…) in `lane`, released at `releasedAt`: one statement. */
async function releasedBacklog(
  sql: (query: string, ...args: SqlStorageValue[]) => Promise<unknown>,
  count: number,
  lane: number,
  releasedAt: number,
) {
  await sql(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
     INSERT INTO outbox (id, recipient, send_at, state, logged, released_at, message, lane)
     SELECT 'msg_backlog' || i, '+86137' || printf('%08d', i), 0, 'released', 1, ?, '{}', ?
     FROM n`,
    count,
    releasedAt,
    lane,
  );
}

describe("TenantDispatcher lanes and batches", () => {
  it("releases the transactional lane first, and the bulk lane with what is left", async () => {
    // 8 msg/s: two per tick.
    const { tenant, stub, queue, accept, runAlarm, advance } = await isolatedDispatcher(8, {
      manualClock: true,
    });
    const { messages, record } = batchOf(tenant.id, 6, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAA");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await runAlarm();
    expect(queue.sent).toEqual([messages[0]?.id, messages[1]?.id]);

    const code = outboxMessage(tenant.id, "+8613800000099", { kind: "verification" });
    await accept(code);
    advance(250);
    await runAlarm();
    // The verification code goes in the next tick, ahead of the four bulk messages waiting.
    expect(queue.sent.slice(2)).toEqual([code.id, messages[2]?.id]);
  });

  it("holds the bulk lane while the bulk queue's backlog is full, and still releases transactional", async () => {
    const { tenant, stub, queue, accept, runAlarm, sql, advance, now } = await isolatedDispatcher(
      8,
      { manualClock: true },
    );
    // 200 released bulk messages without a send result yet: the bulk lane's cap at this rate.
    await releasedBacklog(sql, 200, 1, now());
    const { messages, record } = batchOf(tenant.id, 2, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAD");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    const code = outboxMessage(tenant.id, "+8613800000098", { kind: "verification" });
    await accept(code);
    await runAlarm();
    expect(queue.sent).toEqual([code.id]);

    // The code is on the other queue and does not count: one bulk result makes room for one.
    await stub.reportResults([{ id: "msg_backlog0", outcome: "sent" }]);
    advance(250);
    await runAlarm();
    expect(queue.sent).toEqual([code.id, messages[0]?.id]);
  });

  it("does not hold the bulk lane for transactional messages in flight: they have their own queue", async () => {
    const { tenant, stub, queue, runAlarm, sql, now } = await isolatedDispatcher(8, {
      manualClock: true,
    });
    // 200 released transactional messages without a send result yet.
    await releasedBacklog(sql, 200, 0, now());
    const { messages, record } = batchOf(tenant.id, 2, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAE");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    await runAlarm();
    expect(queue.sentTo.BULK_DISPATCH_QUEUE).toEqual([messages[0]?.id, messages[1]?.id]);
  });

  it("keeps a staged batch invisible until it commits, and sends nothing of an uncommitted one", async () => {
    const { tenant, stub, queue, runAlarm } = await isolatedDispatcher();
    const { messages, record } = batchOf(tenant.id, 3, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAB");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await runAlarm();
    expect(queue.sent).toEqual([]);
    expect(await statusOf(messages[0]?.id ?? "")).toBeUndefined();
    expect(await stub.peek(messages[0]?.id ?? "")).toBeNull();

    // A commit that does not match what was staged changes nothing.
    expect(await stub.commitBatch({ ...record, accepted: 4 }, 0)).toBe("incomplete");
    await runAlarm();
    expect(queue.sent).toEqual([]);

    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await runAlarm();
    expect(queue.sent).toHaveLength(3);
    const row = await env.DB.prepare("SELECT accepted FROM batches WHERE id = ?")
      .bind(record.id)
      .first<{ accepted: number }>();
    expect(row?.accepted).toBe(3);
  });

  it("stages the same batch twice harmlessly, and commits and sends it once", async () => {
    const { tenant, stub, queue, runAlarm } = await isolatedDispatcher();
    const { messages, record } = batchOf(tenant.id, 3, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAE");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await runAlarm();
    expect(queue.sent.sort()).toEqual(messages.map((m) => m.id).sort());
  });

  it("waits for the next release tick, not at once, while a batch larger than the logged window drains", async () => {
    // 8 msg/s: two per tick; the window logs 1,000 ahead, so 200 of the batch wait unlogged.
    const { tenant, stub, queue } = await isolatedDispatcher(8);
    const { messages, record } = batchOf(tenant.id, 1200, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAH");
    // The clock stands still from before the commit: the alarm the commit sets may run on its own
    // before the one called here (under load it does), and either run must see the same time.
    const now = Date.now();
    await runInDurableObject(stub, (instance: TenantDispatcher) => {
      Object.defineProperty(instance, "clock", { value: () => now });
    });
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    const next = await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await instance.alarm();
      return state.storage.getAlarm();
    });
    expect(queue.sent).toHaveLength(2);
    // The rate, not the unlogged rest of the batch, says when it runs again: one tick after the
    // run. Under load the runtime may run the alarm the commit set in an instance of its own, on
    // the real clock, so the tick is counted from a time between `now` and this check.
    expect(next).toBeGreaterThanOrEqual(now + 100);
    expect(next).toBeLessThanOrEqual(Date.now() + 100);
  });

  it("sets no alarm while a paused tenant's batch waits beyond the logged window", async () => {
    const { tenant, stub, queue, sql } = await isolatedDispatcher(0);
    const { messages, record } = batchOf(tenant.id, 1200, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAJ");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    const next = await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await instance.alarm();
      return state.storage.getAlarm();
    });
    expect(queue.sent).toEqual([]);
    expect(await sql("SELECT COUNT(*) AS n FROM outbox WHERE logged = 1")).toEqual([{ n: 1000 }]);
    // Nothing can go until the rate changes, and configure() wakes it then.
    expect(next).toBeNull();
    await stub.configure({ tenantId: tenant.id, sendRate: 8 });
    expect(
      await runInDurableObject(stub, (_instance: TenantDispatcher, state) =>
        state.storage.getAlarm(),
      ),
    ).not.toBeNull();
  });

  it("gives staged rows the fair-queuing tags they would get accepted one by one, and a restaged row keeps its own", async () => {
    const { tenant, stub, accept, sql } = await isolatedDispatcher();
    const [a, b, c] = ["+8613900000301", "+8613900000302", "+8613900000303"];
    const earlier = outboxMessage(tenant.id, a);
    await accept(earlier);
    const batchId = "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAG";
    const row = (to: string) => outboxMessage(tenant.id, to, { batchId, lane: "bulk" });
    const first = [row(a), row(b), row(a), row(c)];
    const second = [row(a), row(b)];
    await stub.stageBatch({ tenantId: tenant.id, messages: first });
    // A retried upload stages the first part again, in one part with what follows it.
    await stub.stageBatch({ tenantId: tenant.id, messages: [...first, ...second] });
    const tags = Object.fromEntries(
      (await sql<{ id: string; vtag: number }>("SELECT id, vtag FROM outbox")).map((r) => [
        r.id,
        r.vtag,
      ]),
    );
    // A recipient's row comes one past its previous one; a new recipient's first row gets 1.
    expect([earlier, ...first, ...second].map((m) => tags[m.id])).toEqual([1, 2, 1, 3, 1, 4, 2]);
  });

  it("remembers a batch it committed after the batch is in D1 and sent: staging it again sends nothing", async () => {
    const { tenant, stub, queue, runAlarm, sql } = await isolatedDispatcher();
    const { messages, record } = batchOf(tenant.id, 2, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAF");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    await runAlarm();
    await stub.reportResults(messages.map((m) => ({ id: m.id, outcome: "sent" as const })));
    expect(await sql("SELECT id FROM outbox")).toEqual([]);
    expect(await sql("SELECT id FROM batches")).toEqual([]);

    // A retried upload of the same batch (its ids follow from its Idempotency-Key).
    await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await runAlarm();
    expect(queue.sent).toHaveLength(2);
    expect(await sql("SELECT id FROM outbox")).toEqual([]);
  });

  it("cancels a batch: unsent messages end canceled, released ones finish", async () => {
    const { tenant, stub, queue, runAlarm } = await isolatedDispatcher(8);
    const { messages, record } = batchOf(tenant.id, 5, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VAC");
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    await runAlarm();
    expect(queue.sent).toHaveLength(2);

    expect(await stub.cancelBatch(record.id)).toBe(5);
    await runAlarm();
    expect(queue.sent).toHaveLength(2);
    expect(await batchCounts(record.id)).toEqual({ canceled: 5 });
    const batch = await env.DB.prepare("SELECT canceled_at FROM batches WHERE id = ?")
      .bind(record.id)
      .first<{ canceled_at: number | null }>();
    expect(batch?.canceled_at).toBeGreaterThan(0);
  });

  it("cancels a message before it is logged, after it is logged, and refuses once it is sent", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher();
    const later = Date.now() + 60_000;
    const early: OutboxMessage = outboxMessage(tenant.id, "+8613800000051", { sendAt: later });
    await accept(early);
    expect(await stub.cancel(early.id)).toEqual({ kind: "canceled" });
    expect(await stub.peek(early.id)).toMatchObject({ canceled: true });
    await runAlarm();
    expect(await statusOf(early.id)).toBe("canceled");

    const logged = outboxMessage(tenant.id, "+8613800000052", { sendAt: later });
    await accept(logged);
    await runAlarm();
    expect(await statusOf(logged.id)).toBe("scheduled");
    expect(await stub.cancel(logged.id)).toEqual({ kind: "canceled" });
    expect(await statusOf(logged.id)).toBe("canceled");

    const now = outboxMessage(tenant.id, "+8613800000053");
    await accept(now);
    await runAlarm();
    expect(queue.sent).toEqual([now.id]);
    await env.DB.prepare("UPDATE messages SET status = 'sending' WHERE id = ?").bind(now.id).run();
    expect(await stub.cancel(now.id)).toEqual({ kind: "too-late" });
    expect(await stub.cancel("msg_00000000000000000000000000")).toEqual({ kind: "not-found" });
    expect(queue.sent).toEqual([now.id]);
  });

  it("releases a scheduled message only once its time has come", async () => {
    const { tenant, queue, accept, runAlarm } = await isolatedDispatcher();
    const soon = outboxMessage(tenant.id, "+8613800000061", { sendAt: Date.now() + 400 });
    await accept(soon);
    await runAlarm();
    expect(queue.sent).toEqual([]);
    expect(await statusOf(soon.id)).toBe("scheduled");
    await new Promise((resolve) => setTimeout(resolve, 450));
    await runAlarm();
    expect(queue.sent).toEqual([soon.id]);
  });
});
