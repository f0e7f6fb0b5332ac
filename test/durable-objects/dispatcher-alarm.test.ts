/**
 * The dispatcher's alarm against what happens while it runs: calls that land while it awaits D1 or
 * the queue (the object takes them then), and a D1 that stays down longer than the runtime would
 * retry a failing alarm. Each run here plays the runtime's part: the alarm that woke it is spent.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { acceptRequest, isolatedDispatcher } from "../support/dispatcher";
import { downD1, Gate, heldD1, heldQueue, swapEnv } from "../support/held-io";
import { outboxMessage, statusOf } from "../support/messages";

describe("the dispatcher's alarm, with calls landing while it runs", () => {
  it("writes to D1 a message accepted while the run waits on D1", async () => {
    // Paused, so the run has nothing else to wake for once the first message is logged.
    const { tenant, stub } = await isolatedDispatcher(0);
    const first = outboxMessage(tenant.id, "+8613800000201");
    const meanwhile = outboxMessage(tenant.id, "+8613800000202");
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await instance.accept(acceptRequest(first, undefined, "h"));
      await state.storage.deleteAlarm();
      const gate = new Gate();
      const restore = swapEnv(instance, (current) => ({ DB: heldD1(current.DB, gate) }));
      try {
        const run = instance.alarm();
        await gate.reached;
        await instance.accept(acceptRequest(meanwhile, undefined, "h"));
        gate.release();
        await run;
      } finally {
        restore();
      }
    });
    await runDurableObjectAlarm(stub);
    expect(await statusOf(first.id)).toBe("queued");
    expect(await statusOf(meanwhile.id)).toBe("queued");
  });

  it("releases a recipient's next message when its send result comes in while the run enqueues", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher();
    const r1 = outboxMessage(tenant.id, "+8613800000211");
    const r2 = outboxMessage(tenant.id, "+8613800000211");
    const other = outboxMessage(tenant.id, "+8613800000212");
    await accept(r1);
    await accept(r2);
    await runAlarm();
    expect(queue.sent).toEqual([r1.id]);
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await instance.accept(acceptRequest(other, undefined, "h"));
      await state.storage.deleteAlarm();
      const gate = new Gate();
      const restore = swapEnv(instance, (current) => ({
        DISPATCH_QUEUE: heldQueue(current.DISPATCH_QUEUE, gate),
      }));
      try {
        const run = instance.alarm();
        await gate.reached;
        // The consumers finish both while `other` is still on its way to the queue.
        await instance.reportResults([
          { id: r1.id, outcome: "final" },
          { id: other.id, outcome: "final" },
        ]);
        gate.release();
        await run;
      } finally {
        restore();
      }
    });
    await runDurableObjectAlarm(stub);
    expect(queue.sent).toEqual([r1.id, other.id, r2.id]);
  });

  it("keeps the receipt deadline of a message reported sent while the receipt sweep reads D1", async () => {
    // The test configuration's receipt deadline is 2 s.
    const { tenant, stub, accept, runAlarm, sql } = await isolatedDispatcher();
    const earlier = outboxMessage(tenant.id, "+8613800000221");
    const reported = outboxMessage(tenant.id, "+8613800000222");
    for (const message of [earlier, reported]) {
      await accept(message);
    }
    await runAlarm();
    // `earlier` was sent (and has since been receipted): a sweep falls due 2 s on.
    await stub.reportResults([{ id: earlier.id, outcome: "sent" }]);
    const now = Date.now() + 3000;
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await state.storage.deleteAlarm();
      const clock = Object.getOwnPropertyDescriptor(instance, "clock");
      Object.defineProperty(instance, "clock", { value: () => now });
      const restore = swapEnv(instance, (current) => ({
        DB: new Proxy(current.DB, {
          get(target, prop) {
            if (prop === "batch") {
              return async (statements: D1PreparedStatement[]) => {
                const results = await target.batch(statements);
                // The consumer records the send and reports it after the sweep's read.
                await target
                  .prepare("UPDATE messages SET status = 'sent', sent_at = ? WHERE id = ?")
                  .bind(now, reported.id)
                  .run();
                await instance.reportResults([{ id: reported.id, outcome: "sent" }]);
                return results;
              };
            }
            const value = Reflect.get(target, prop, target);
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
      }));
      try {
        await instance.alarm();
      } finally {
        restore();
        if (clock) {
          Object.defineProperty(instance, "clock", clock);
        }
      }
    });
    const [next] = await sql<{ value: string }>("SELECT value FROM meta WHERE key = 'next_sweep'");
    expect(Number(next?.value)).toBe(now + 2000);
  });
});

describe("the dispatcher's alarm while D1 is down", () => {
  it("leaves itself set after every failed run, and loses nothing once D1 is back", async () => {
    const { tenant, stub, queue, accept } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800000231");
    await accept(message);
    const restore = await runInDurableObject(stub, (instance: TenantDispatcher) =>
      swapEnv(instance, (current) => ({ DB: downD1(current.DB) })),
    );
    // More runs than the runtime's retries of an alarm that throws (six).
    for (let run = 1; run <= 8; run++) {
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    }
    expect(await statusOf(message.id)).toBeUndefined();
    restore();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await statusOf(message.id)).toBe("queued");
    expect(queue.sent).toEqual([message.id]);
  });
});
