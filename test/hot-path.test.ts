/**
 * What one accepted message costs, counted: the numbers behind DESIGN.md's hot-path section.
 * POST /v1/messages: no D1 query with a warm key cache, one dispatcher RPC, one outbox write.
 * The dispatch consumer: a fixed number of D1 round trips per queue batch, whatever its size.
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherOf } from "../src/delivery/dispatcher";
import type { DispatchJob } from "../src/delivery/payloads";
import { logMessages } from "../src/durable-objects/dispatcher/send-log";
import type { TenantDispatcher } from "../src/durable-objects/dispatcher/tenant-dispatcher";
import worker from "../src/index";
import { consumeDispatch } from "../src/queues/dispatch";
import { countingD1, countingNamespace } from "./support/counting";
import { acceptRequest, isolatedDispatcher } from "./support/dispatcher";
import { outboxMessage, statusOf } from "./support/messages";
import { createTenant } from "./support/tenants";

async function send(testEnv: Env, key: string, to: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const request = new Request<unknown, IncomingRequestCfProperties>(
    "http://127.0.0.1:8787/v1/messages",
    {
      method: "POST",
      body: JSON.stringify({ to, body: "hot path" }),
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    },
  );
  const res = await worker.fetch(request, testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the hot path", () => {
  it("accepts a message with no D1 query (warm caches) and exactly one dispatcher call", async () => {
    const tenant = await createTenant();
    const d1 = countingD1(env.DB);
    const dispatcher = countingNamespace(env.DISPATCHER);
    const testEnv = { ...env, DB: d1.db, DISPATCHER: dispatcher.namespace };

    expect((await send(testEnv, tenant.key, "+8613800138600")).status).toBe(202);
    // The first request of an isolate looks the key up once, and the tenant's own sensitive words
    // (both cached for seconds).
    expect(d1.count.roundTrips).toBe(2);

    for (let n = 1; n <= 10; n++) {
      expect((await send(testEnv, tenant.key, `+86138001386${10 + n}`)).status).toBe(202);
    }
    expect(d1.count.roundTrips).toBe(2);
    expect(dispatcher.calls).toEqual(Array(11).fill("accept"));
  });

  it("writes one outbox row per message, its fair-queuing tag read in the same statement, and sets the alarm at most once per burst", async () => {
    const tenant = await createTenant();
    const stub = dispatcherOf(env, tenant.id);
    const ops: string[] = [];
    await runInDurableObject(stub, (instance: TenantDispatcher, state) => {
      const sql = state.storage.sql;
      const storage = state.storage;
      Object.defineProperty(instance, "sql", {
        value: new Proxy(sql, {
          get: (target, prop) =>
            prop === "exec"
              ? (query: string, ...args: SqlStorageValue[]) => {
                  ops.push(query.trim().split(/\s+/).slice(0, 3).join(" "));
                  return target.exec(query, ...args);
                }
              : Reflect.get(target, prop, target),
        }),
      });
      Object.defineProperty(instance, "ctx", {
        value: new Proxy(state, {
          get: (target, prop) =>
            prop === "storage"
              ? new Proxy(storage, {
                  get: (s, method) => {
                    const member = Reflect.get(s, method, s);
                    return typeof member === "function"
                      ? (...args: unknown[]) => {
                          ops.push(String(method));
                          return member.apply(s, args);
                        }
                      : member;
                  },
                })
              : Reflect.get(target, prop, target),
        }),
      });
    });
    // Warm the instance (the first call reads its tenant and alarm once).
    await send(env, tenant.key, "+8613800138700");
    ops.length = 0;
    await runInDurableObject(stub, async (instance: TenantDispatcher) => {
      for (let n = 0; n < 5; n++) {
        const message = outboxMessage(tenant.id, `+86138001387${10 + n}`);
        await instance.accept({
          message,
          idempotency: null,
          currency: "USD",
          settingsVersion: 0,
        });
      }
    });
    const inserts = ops.filter((op) => op.startsWith("INSERT INTO outbox"));
    const alarms = ops.filter((op) => op === "setAlarm");
    expect(inserts).toHaveLength(5);
    expect(alarms.length).toBeLessThanOrEqual(1);
    // Nothing else: no separate read of the recipient's last tag, of meta, or of the alarm.
    expect(ops.length).toBeLessThanOrEqual(6);
  });

  it("logs and releases an alarm run's messages, and retires their send results, in a fixed number of statements whatever their number", async () => {
    const { tenant, stub } = await isolatedDispatcher(5000);
    const statementsFor = (count: number, prefix: string) =>
      runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
        const sql = state.storage.sql;
        const storage = state.storage;
        // No real alarm is set, so none can fire by itself in the middle of the count.
        const noAlarm = {
          getAlarm: async () => null,
          setAlarm: async () => {},
          deleteAlarm: async () => {},
        };
        Object.defineProperty(instance, "ctx", {
          value: new Proxy(state, {
            get: (target, prop) =>
              prop === "storage"
                ? new Proxy(storage, {
                    get: (s, method) =>
                      method in noAlarm
                        ? noAlarm[method as keyof typeof noAlarm]
                        : Reflect.get(s, method, s),
                  })
                : Reflect.get(target, prop, target),
          }),
        });
        const messages = Array.from({ length: count }, (_, n) =>
          outboxMessage(tenant.id, `+86138${prefix}${String(n).padStart(4, "0")}`),
        );
        for (const message of messages) {
          await instance.accept(acceptRequest(message, undefined, "h"));
        }
        const statements = { run: 0, report: 0 };
        let counting: keyof typeof statements = "run";
        Object.defineProperty(instance, "sql", {
          value: new Proxy(sql, {
            get: (target, prop) =>
              prop === "exec"
                ? (query: string, ...args: SqlStorageValue[]) => {
                    statements[counting]++;
                    return target.exec(query, ...args);
                  }
                : Reflect.get(target, prop, target),
          }),
        });
        await instance.alarm();
        counting = "report";
        await instance.reportResults(messages.map((m) => ({ id: m.id, outcome: "sent" })));
        Object.defineProperty(instance, "sql", { value: sql });
        Object.defineProperty(instance, "ctx", { value: state });
        // The run logged and released every one of them, and their results retired them.
        expect(sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n).toBe(0);
        return statements;
      });
    // The first run and report read what the instance then keeps in memory.
    await statementsFor(1, "0020");
    const few = await statementsFor(3, "0021");
    const many = await statementsFor(40, "0022");
    expect(many).toEqual(few);
    expect(few.report).toBe(1);
  });

  it("marks what a run logged by its ids, without reading the rest of a large outbox", async () => {
    const { tenant, stub, accept } = await isolatedDispatcher(5000);
    // 3,000 bulk messages for tomorrow: pending, and not due to be logged in this run.
    const tomorrow = Date.now() + 24 * 60 * 60 * 1000;
    const batchId = "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VHP";
    const messages = Array.from({ length: 3000 }, (_, n) =>
      outboxMessage(tenant.id, `+86139${String(n).padStart(8, "0")}`, {
        batchId,
        lane: "bulk",
        sendAt: tomorrow,
      }),
    );
    await stub.stageBatch({ tenantId: tenant.id, messages });
    const record = {
      id: batchId,
      tenantId: tenant.id,
      templateId: null,
      templateVersion: null,
      kind: "notification" as const,
      mode: "test" as const,
      accepted: messages.length,
      rejected: 0,
      sendAt: tomorrow,
      createdAt: Date.now(),
      canceledAt: null,
    };
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await accept(outboxMessage(tenant.id, "+8613800138900"));
    const writes: { query: string; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }[] =
      [];
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      const sql = state.storage.sql;
      Object.defineProperty(instance, "sql", {
        value: new Proxy(sql, {
          get: (target, prop) =>
            prop === "exec"
              ? (query: string, ...args: SqlStorageValue[]) => {
                  const cursor = target.exec(query, ...args);
                  if (/^\s*(UPDATE|DELETE)/.test(query)) {
                    writes.push({ query, cursor });
                  }
                  return cursor;
                }
              : Reflect.get(target, prop, target),
        }),
      });
      await instance.alarm();
      Object.defineProperty(instance, "sql", { value: sql });
    });
    const logged = writes.filter((w) => w.query.includes("SET logged = 1"));
    expect(logged).toHaveLength(1);
    // It found its one row by id; a scan of the pending rows would have read all 3,001.
    expect(logged[0]?.cursor.rowsRead).toBeLessThan(10);
  });

  it("finds a batch composed under outdated settings out at its first part, and composes it again", async () => {
    const tenant = await createTenant();
    const dispatcher = countingNamespace(env.DISPATCHER);
    const testEnv = { ...env, DISPATCHER: dispatcher.namespace };
    // The key's cache holds the account at settings_version 0; then another isolate changes them.
    expect((await send(testEnv, tenant.key, "+8613800138950")).status).toBe(202);
    await env.DB.prepare("UPDATE tenants SET settings_version = 1 WHERE id = ?")
      .bind(tenant.id)
      .run();
    await dispatcherOf(env, tenant.id).configure({ tenantId: tenant.id, settingsVersion: 1 });
    dispatcher.calls.length = 0;

    // Three parts' worth of recipients.
    const recipients = Array.from({ length: 12_000 }, (_, n) => ({
      to: `+86139${String(n).padStart(8, "0")}`,
    }));
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request<unknown, IncomingRequestCfProperties>("http://127.0.0.1:8787/v1/batches", {
        method: "POST",
        body: JSON.stringify({ body: "hot path", recipients }),
        headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
      }),
      testEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(202);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(12_000);
    expect(dispatcher.calls).toEqual([
      "stageBatch",
      "stageBatch",
      "stageBatch",
      "stageBatch",
      "commitBatch",
    ]);
  });

  it("sends a queue batch with a fixed number of D1 round trips, whatever its size", async () => {
    const tenant = await createTenant();
    const roundTripsFor = async (size: number) => {
      const messages = Array.from({ length: size }, (_, n) =>
        // Ordinary numbers: none ends in the sandbox's special 0000-0002.
        outboxMessage(
          tenant.id,
          `+86139${String(size).padStart(2, "0")}${String(n).padStart(4, "0")}77`,
        ),
      );
      await logMessages(env.DB, messages);
      const d1 = countingD1(env.DB);
      const batch = createMessageBatch<DispatchJob>(
        "relaybox-dispatch",
        messages.map((m, n) => ({
          id: `q-${size}-${n}`,
          timestamp: new Date(),
          attempts: 1,
          body: { v: 1, tenant_id: tenant.id, message_id: m.id },
        })),
      );
      const ctx = createExecutionContext();
      await consumeDispatch(batch as MessageBatch<unknown>, { ...env, DB: d1.db }, ctx, {
        fetch: async () => new Response(null),
      });
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toHaveLength(size);
      for (const m of messages) {
        expect(await statusOf(m.id)).toBe("sent");
      }
      return d1.count.roundTrips;
    };
    const small = await roundTripsFor(5);
    const large = await roundTripsFor(50);
    // The claim, the attempts written before their calls, and the results; the first batch of a
    // tenant in an isolate also loads its providers, its routing rules and its webhook endpoints
    // (each cached for seconds).
    expect(small).toBeLessThanOrEqual(6);
    expect(large).toBe(3);
  });
});
