import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimForSending } from "../../src/delivery/status-writer";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { acceptRequest, isolatedDispatcher } from "../support/dispatcher";
import { attemptsOf, outboxMessage, statusOf } from "../support/messages";
import { d1Outage } from "../support/outage";
import { eventually } from "../support/tenants";

describe("TenantDispatcher", () => {
  it("releases one recipient's messages in order, each only after the previous send result", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher();
    const a1 = outboxMessage(tenant.id, "+8613800000001");
    const a2 = outboxMessage(tenant.id, "+8613800000001");
    const a3 = outboxMessage(tenant.id, "+8613800000001");
    const b1 = outboxMessage(tenant.id, "+8613800000002");
    for (const m of [a1, a2, a3, b1]) {
      await accept(m);
    }
    await runAlarm();
    expect(queue.sent).toEqual([a1.id, b1.id]);

    await runAlarm();
    expect(queue.sent).toEqual([a1.id, b1.id]);

    await stub.reportResults([{ id: a1.id, outcome: "sent" }]);
    await runAlarm();
    expect(queue.sent).toEqual([a1.id, b1.id, a2.id]);

    await stub.reportResults([{ id: a2.id, outcome: "final" }]);
    await runAlarm();
    expect(queue.sent).toEqual([a1.id, b1.id, a2.id, a3.id]);
  });

  it("serves recipients round-robin, so one recipient's long line does not hold up others", async () => {
    // 8 msg/s: the bucket holds two, so each tick releases two.
    const { tenant, stub, queue, accept, runAlarm, advance } = await isolatedDispatcher(8, {
      manualClock: true,
    });
    const line = (to: string) => [1, 2, 3].map(() => outboxMessage(tenant.id, to));
    const [a, b, c] = [line("+8613800000021"), line("+8613800000022"), line("+8613800000023")];
    for (const message of [...a, ...b, ...c]) {
      await accept(message);
    }
    await runAlarm();
    expect(queue.sent).toEqual([a[0]?.id, b[0]?.id]);
    await stub.reportResults(queue.sent.map((id) => ({ id, outcome: "sent" as const })));

    advance(250);
    await runAlarm();
    // Arrival order would now send a's and b's second messages; c has waited longest.
    expect(queue.sent.slice(2)).toEqual([c[0]?.id, a[1]?.id]);
  });

  it("writes accepted messages to the D1 send log before releasing them", async () => {
    const { tenant, queue, accept, runAlarm } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800000003");
    await accept(message);
    await runAlarm();
    expect(queue.sent).toContain(message.id);
    expect(await statusOf(message.id)).toBe("queued");
  });

  it("is safe to run its alarm twice: nothing is logged or released twice", async () => {
    const { tenant, queue, accept, runAlarm } = await isolatedDispatcher();
    const messages = [1, 2, 3].map((n) => outboxMessage(tenant.id, `+861380000010${n}`));
    for (const m of messages) {
      await accept(m);
    }
    await runAlarm();
    await runAlarm();
    expect([...queue.sent].sort()).toEqual(messages.map((m) => m.id).sort());
    const { results } = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM messages WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(3);
  });

  it("keeps to the tenant's send rate, in small steady steps", async () => {
    const { tenant, queue, accept, runAlarm, advance } = await isolatedDispatcher(20, {
      manualClock: true,
    });
    for (let n = 10; n < 40; n++) {
      await accept(outboxMessage(tenant.id, `+86138000001${n}`));
    }
    await runAlarm();
    // The bucket holds a quarter of a second's worth: 5 at 20 msg/s.
    expect(queue.sent).toHaveLength(5);
    await runAlarm();
    // No time has passed: nothing more is earned.
    expect(queue.sent).toHaveLength(5);
    // Waiting a whole second at once earns only what the bucket holds, not 20.
    advance(1000);
    await runAlarm();
    expect(queue.sent).toHaveLength(10);
    // A quarter of a second, three times over: 5 each.
    for (const expected of [15, 20, 25]) {
      advance(250);
      await runAlarm();
      expect(queue.sent).toHaveLength(expected);
    }
  });

  it("releases nothing while paused, and resumes when the rate is raised", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher(0);
    const message = outboxMessage(tenant.id, "+8613800000050");
    await accept(message);
    await runAlarm();
    expect(queue.sent).toEqual([]);
    expect(await statusOf(message.id)).toBe("queued");
    await stub.configure({ tenantId: tenant.id, sendRate: 10 });
    await runAlarm();
    expect(queue.sent).toEqual([message.id]);
  });

  it("replays an idempotency key's first answer and refuses it with another body", async () => {
    const { tenant, queue, accept, runAlarm } = await isolatedDispatcher();
    const first = outboxMessage(tenant.id, "+8613800000004");
    const again = outboxMessage(tenant.id, "+8613800000004");
    expect(await accept(first, "k1", "hash-a")).toMatchObject({ kind: "accepted" });
    const replay = await accept(again, "k1", "hash-a");
    expect(replay).toEqual({
      kind: "replayed",
      response: expect.objectContaining({ id: first.id }),
    });
    expect(await accept(again, "k1", "hash-b")).toEqual({ kind: "idempotency-conflict" });
    await runAlarm();
    expect(queue.sent).toEqual([first.id]);
  });

  it("forgets idempotency keys after 24 hours", async () => {
    const { tenant, accept, runAlarm, sql } = await isolatedDispatcher();
    await accept(outboxMessage(tenant.id, "+8613800000005"), "k2");
    await sql("UPDATE idempotency SET expires_at = ?", Date.now() - 1);
    const later = outboxMessage(tenant.id, "+8613800000005");
    expect(await accept(later, "k2")).toMatchObject({ kind: "accepted" });
    await runAlarm();
    expect(await sql("SELECT key FROM idempotency")).toHaveLength(1);
  });

  it("releases again a message whose send result never came back", async () => {
    const { tenant, queue, accept, runAlarm, sql } = await isolatedDispatcher();
    const lost = outboxMessage(tenant.id, "+8613800000006");
    const done = outboxMessage(tenant.id, "+8613800000007");
    await accept(lost);
    await accept(done);
    await runAlarm();
    expect(queue.sent).toHaveLength(2);
    await env.DB.prepare("UPDATE messages SET status = 'delivered' WHERE id = ?")
      .bind(done.id)
      .run();
    await sql("UPDATE outbox SET released_at = ?", Date.now() - 60_000);
    await runAlarm();
    expect(queue.sent.filter((id) => id === lost.id)).toHaveLength(2);
    expect(queue.sent.filter((id) => id === done.id)).toHaveLength(1);
    expect(await sql("SELECT id FROM outbox")).toEqual([{ id: lost.id }]);
  });

  it("leaves alone a released message that is still being retried", async () => {
    const { tenant, queue, accept, runAlarm, sql } = await isolatedDispatcher();
    const retrying = outboxMessage(tenant.id, "+8613800000011");
    await accept(retrying);
    await runAlarm();
    await env.DB.prepare("UPDATE messages SET status = 'sending', updated_at = ? WHERE id = ?")
      .bind(Date.now(), retrying.id)
      .run();
    await sql("UPDATE outbox SET released_at = ?", Date.now() - 60_000);
    await runAlarm();
    expect(queue.sent).toEqual([retrying.id]);

    // Once its consumer has gone quiet for longer than the timeout, it is released again.
    await env.DB.prepare("UPDATE messages SET updated_at = ? WHERE id = ?")
      .bind(Date.now() - 60_000, retrying.id)
      .run();
    await sql("UPDATE outbox SET released_at = ?", Date.now() - 60_000);
    await runAlarm();
    expect(queue.sent).toEqual([retrying.id, retrying.id]);
  });

  it("expires a sent message that gets no receipt by the deadline, and only that", async () => {
    // The test configuration's receipt deadline is 2 s.
    const { tenant, stub, accept, runAlarm, sql } = await isolatedDispatcher();
    const silent = outboxMessage(tenant.id, "+8613800000008");
    const receipted = outboxMessage(tenant.id, "+8613800000009");
    const recent = outboxMessage(tenant.id, "+8613800000013");
    for (const m of [silent, receipted, recent]) {
      await accept(m);
    }
    await runAlarm();
    const now = Date.now();
    const mark = (id: string, status: string, sentAt: number) =>
      env.DB.prepare("UPDATE messages SET status = ?, sent_at = ? WHERE id = ?").bind(
        status,
        sentAt,
        id,
      );
    await env.DB.batch([
      mark(silent.id, "sent", now),
      mark(receipted.id, "delivered", now),
      mark(recent.id, "sent", now + 60_000),
    ]);
    await stub.reportResults(
      [silent, receipted, recent].map((m) => ({ id: m.id, outcome: "sent" as const })),
    );
    expect(await sql("SELECT value FROM meta WHERE key = 'next_sweep'")).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, 2100));
    await runAlarm();
    expect(await statusOf(silent.id)).toBe("expired");
    expect(await statusOf(receipted.id)).toBe("delivered");
    expect(await statusOf(recent.id)).toBe("sent");
    // The next sweep is set for the one still waiting, by its own deadline.
    const [next] = await sql<{ value: string }>("SELECT value FROM meta WHERE key = 'next_sweep'");
    expect(Number(next?.value)).toBe(now + 60_000 + 2000);
  });

  it("expires a sent message whose send result never came back, once its deadline passes", async () => {
    // The test configuration's receipt deadline is 2 s.
    const { tenant, accept, runAlarm, sql } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800000014");
    await accept(message);
    await runAlarm();
    // The consumer recorded the send in D1, but its report to the dispatcher was lost.
    await env.DB.prepare("UPDATE messages SET status = 'sent', sent_at = ? WHERE id = ?")
      .bind(Date.now(), message.id)
      .run();
    await sql("UPDATE outbox SET released_at = ?", Date.now() - 60_000);
    await runAlarm();
    expect(await sql("SELECT id FROM outbox")).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 2100));
    await runAlarm();
    expect(await statusOf(message.id)).toBe("expired");
  });

  it("writes a send outcome a consumer could not record once D1 takes it, and does not release its message again meanwhile", async () => {
    const { tenant, stub, queue, accept, runAlarm, sql } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800000015");
    await accept(message);
    await runAlarm();
    expect(queue.sent).toEqual([message.id]);
    const outage = d1Outage(env.DB);
    await runInDurableObject(stub, (instance: TenantDispatcher) => {
      const own = (instance as unknown as { env: Env }).env;
      Object.defineProperty(instance, "env", { value: { ...own, DB: outage.db } });
    });
    // A consumer claimed it and the carrier took it; then D1 went down, and its report was lost.
    const now = Date.now();
    const [claimed] = await claimForSending(env, env.DB, [message.id], "claim-1", now, 60_000);
    if (!claimed) {
      throw new Error("the message was not claimed");
    }
    outage.begin();
    await stub.keepOutcomes([
      {
        message: claimed,
        attempt: {
          attemptId: "att_kept_1",
          claimId: "claim-1",
          messageId: message.id,
          tenantId: tenant.id,
          attempt: 1,
          provider: "sandbox",
          outcome: "sent",
          reason: null,
          providerMessageId: "sbx-kept-1",
          latencyMs: 5,
          createdAt: now,
        },
        change: { kind: "sent", provider: "sandbox", providerMessageId: "sbx-kept-1" },
      },
    ]);
    await env.DB.prepare("UPDATE messages SET updated_at = ? WHERE id = ?")
      .bind(now - 60_000, message.id)
      .run();
    await sql("UPDATE outbox SET released_at = ?", now - 60_000);
    await runAlarm();
    expect(queue.sent).toEqual([message.id]);
    expect(await statusOf(message.id)).toBe("sending");

    // D1 is back: the dispatcher's own alarm writes it, unprompted.
    outage.end();
    await eventually(
      async () => ((await statusOf(message.id)) === "sent" ? true : undefined),
      10_000,
      "the kept outcome to reach D1",
    );
    expect(await attemptsOf(message.id)).toEqual([{ attempt: 1, outcome: "sent" }]);
    expect(await sql("SELECT attempt_id FROM kept_outcomes")).toEqual([]);
    expect(queue.sent).toEqual([message.id]);
  });

  it("answers for a message that is accepted but not yet in the send log", async () => {
    const { tenant, stub } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800000010");
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await instance.accept(acceptRequest(message, undefined, "h"));
      await state.storage.deleteAlarm();
    });
    expect(await stub.peek(message.id)).toEqual({ message, canceled: false, heldUntil: null });
    expect(await stub.peek("msg_00000000000000000000000000")).toBeNull();
  });
});

describe("a cancel that lands while the send log is being written", () => {
  it("still cancels the message in D1, and it is never released", async () => {
    const { tenant, stub, accept, sql, runAlarm, queue } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800000071", { sendAt: Date.now() + 60_000 });
    await accept(message);
    const outcome = await runInDurableObject(stub, async (instance: TenantDispatcher) => {
      const realEnv = (instance as unknown as { env: Env }).env;
      let cancel: unknown = null;
      // The object takes calls while it awaits D1: a cancel arrives during the flush's write.
      const db = new Proxy(realEnv.DB, {
        get(target, prop) {
          if (prop === "batch") {
            return async (statements: D1PreparedStatement[]) => {
              cancel ??= await instance.cancel(message.id);
              return target.batch(statements);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      Object.defineProperty(instance, "env", { value: { ...realEnv, DB: db } });
      try {
        await instance.alarm();
      } finally {
        Object.defineProperty(instance, "env", { value: realEnv });
      }
      return cancel;
    });
    expect(outcome).toEqual({ kind: "canceled" });
    await runAlarm();
    expect(await statusOf(message.id)).toBe("canceled");
    expect(await sql("SELECT id FROM outbox WHERE id = ?", message.id)).toEqual([]);
    expect(queue.sent).not.toContain(message.id);
  });
});
