/**
 * Reading and canceling a message (and reading a batch) at the moment the dispatcher writes it to
 * the D1 send log: the request reads D1 before the write commits and asks the dispatcher after it,
 * when the outbox holds it as logged. It is found, and can be canceled, all the same.
 */
import {
  createExecutionContext,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import worker from "../../src/index";
import { newId } from "../../src/lib/ids";
import { acceptRequest } from "../support/dispatcher";
import { outboxMessage, statusOf } from "../support/messages";
import { createTenant, type TestTenant } from "../support/tenants";

/** A message in a paused tenant's outbox, its alarm taken off: the test decides when it is logged. */
async function acceptedNotLogged(tenant: TestTenant, to: string) {
  const message = outboxMessage(tenant.id, to, { mode: "live" });
  const stub = dispatcherOf(env, tenant.id);
  await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
    await instance.accept(acceptRequest(message, undefined, "h"));
    await state.storage.deleteAlarm();
  });
  return { message, stub };
}

/**
 * An Env whose first read of `table` answers only after the dispatcher's alarm has written the
 * send log: the request saw D1 before the write, and sees the dispatcher after it.
 */
function flushAfterFirstRead(stub: DurableObjectStub<TenantDispatcher>, table = "messages"): Env {
  let flushed = false;
  const afterRead =
    <T>(read: () => Promise<T>) =>
    async (): Promise<T> => {
      const result = await read();
      if (!flushed) {
        flushed = true;
        await runInDurableObject(stub, (instance: TenantDispatcher) => instance.alarm());
      }
      return result;
    };
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") {
          return value;
        }
        if (prop === "bind") {
          return (...args: unknown[]) => wrap(value.apply(target, args));
        }
        if (prop === "all" || prop === "first" || prop === "raw" || prop === "run") {
          return (...args: unknown[]) => afterRead(() => value.apply(target, args))();
        }
        return value.bind(target);
      },
    });
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          return !flushed && query.toLowerCase().includes(`from "${table}"`)
            ? wrap(statement)
            : statement;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...env, DB: db };
}

async function call(testEnv: Env, key: string, path: string, method = "GET"): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request<unknown, IncomingRequestCfProperties>(`http://127.0.0.1:8787${path}`, {
      method,
      headers: { authorization: `Bearer ${key}` },
    }),
    testEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("a message read as the dispatcher writes it to the send log", () => {
  it("is found, not answered 404", async () => {
    const tenant = await createTenant({ sendRate: 0 });
    const { message, stub } = await acceptedNotLogged(tenant, "+8613800138501");
    const res = await call(flushAfterFirstRead(stub), tenant.key, `/v1/messages/${message.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: message.id, status: "queued" });
    expect(await statusOf(message.id)).toBe("queued");
  });

  it("is canceled, not answered 404, and is never released", async () => {
    const tenant = await createTenant({ sendRate: 0 });
    const { message, stub } = await acceptedNotLogged(tenant, "+8613800138502");
    const res = await call(
      flushAfterFirstRead(stub),
      tenant.key,
      `/v1/messages/${message.id}/cancel`,
      "POST",
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: message.id, status: "canceled" });
    expect(await statusOf(message.id)).toBe("canceled");
    const outbox = await runInDurableObject(stub, (_instance: TenantDispatcher, state) =>
      state.storage.sql.exec("SELECT id FROM outbox").toArray(),
    );
    expect(outbox).toEqual([]);
  });
});

describe("a batch read as the dispatcher writes its record to the send log", () => {
  it("is found, not answered 404", async () => {
    const tenant = await createTenant({ sendRate: 0 });
    const stub = dispatcherOf(env, tenant.id);
    const now = Date.now();
    const batchId = newId("bat", now);
    const messages = ["+8613800138503", "+8613800138504"].map((to) =>
      outboxMessage(tenant.id, to, { batchId, lane: "bulk", mode: "live" }),
    );
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await instance.stageBatch({ tenantId: tenant.id, messages });
      await instance.commitBatch(
        {
          id: batchId,
          tenantId: tenant.id,
          templateId: null,
          templateVersion: null,
          kind: "notification",
          mode: "live",
          accepted: messages.length,
          rejected: 0,
          sendAt: now,
          createdAt: now,
          canceledAt: null,
        },
        0,
      );
      await state.storage.deleteAlarm();
    });
    const res = await call(
      flushAfterFirstRead(stub, "batches"),
      tenant.key,
      `/v1/batches/${batchId}`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: batchId, accepted: 2 });
  });
});
