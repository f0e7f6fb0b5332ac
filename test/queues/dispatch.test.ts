import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SmsAdapter } from "../../src/channels/sms/adapter";
import { sandbox } from "../../src/channels/sms/sandbox";
import type { DispatchJob } from "../../src/delivery/payloads";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import worker from "../../src/index";
import { consumeDeadLetters } from "../../src/queues/dead-letters";
import { consumeDispatch } from "../../src/queues/dispatch";
import { isolatedDispatcher } from "../support/dispatcher";
import { attemptsOf, outboxMessage, statusOf } from "../support/messages";
import { d1Outage } from "../support/outage";
import { call, createTenant, postJson } from "../support/tenants";

async function loggedMessage(to: string) {
  const tenant = await createTenant();
  const message = outboxMessage(tenant.id, to);
  await logMessages(env.DB, [message]);
  return { tenant, message };
}

function jobsFor(...deliveries: { tenantId: string; id: string; attempts?: number }[]) {
  return createMessageBatch<DispatchJob>(
    "relaybox-dispatch",
    deliveries.map((d, n) => ({
      id: `queue-msg-${n}`,
      timestamp: new Date(),
      attempts: d.attempts ?? 1,
      body: { v: 1, tenant_id: d.tenantId, message_id: d.id },
    })),
  );
}

/** The harness does not keep `retry()`'s options: record the delays asked for. */
function recordDelays(batch: MessageBatch<DispatchJob>): (number | undefined)[] {
  const delays: (number | undefined)[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    Object.defineProperty(message, "retry", {
      value: (options?: QueueRetryOptions) => {
        delays.push(options?.delaySeconds);
        retry(options);
      },
    });
  }
  return delays;
}

async function run(batch: MessageBatch<DispatchJob>) {
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("dispatch consumer", () => {
  it("sends a message, records the attempt and acks it", async () => {
    const { tenant, message } = await loggedMessage("+8613800138100");
    const result = await run(jobsFor({ tenantId: tenant.id, id: message.id }));
    expect(result.explicitAcks).toEqual(["queue-msg-0"]);
    expect(result.retryMessages).toEqual([]);
    expect(["sent", "delivered"]).toContain(await statusOf(message.id));
    expect(await attemptsOf(message.id)).toEqual([{ attempt: 1, outcome: "sent" }]);
  });

  it("writes one Analytics Engine data point per provider attempt: provider, outcome, latency", async () => {
    const { tenant, message } = await loggedMessage("+8613800138101");
    const points: AnalyticsEngineDataPoint[] = [];
    const SEND_METRICS = {
      writeDataPoint: (point?: AnalyticsEngineDataPoint) => {
        if (point) {
          points.push(point);
        }
      },
    };
    const batch = jobsFor({ tenantId: tenant.id, id: message.id });
    const ctx = createExecutionContext();
    await worker.queue(
      batch as MessageBatch<unknown>,
      { ...env, SEND_METRICS, SEND_METRICS_ENABLED: "true" },
      ctx,
    );
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["queue-msg-0"]);
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({
      indexes: ["sandbox"],
      blobs: ["sandbox", "sent", tenant.id],
    });
    const [latency, count] = points[0]?.doubles ?? [];
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(count).toBe(1);
  });

  it("retries a retryable failure with a delay and does not ack it", async () => {
    const { tenant, message } = await loggedMessage("+8613800130001");
    const batch = jobsFor({ tenantId: tenant.id, id: message.id });
    const delays = recordDelays(batch);
    const result = await run(batch);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "queue-msg-0" }]);
    expect(delays).toEqual([0]);
    expect(await statusOf(message.id)).toBe("sending");
    expect(await attemptsOf(message.id)).toEqual([{ attempt: 1, outcome: "retryable" }]);
  });

  it("waits longer after each retryable failure (exponential backoff with jitter)", async () => {
    const { tenant, message } = await loggedMessage("+8613800130001");
    const ctx = createExecutionContext();
    const batch = jobsFor({ tenantId: tenant.id, id: message.id });
    const delays = recordDelays(batch);
    const settingsEnv = { ...env, RETRY_BASE_SECONDS: "2", RETRY_MAX_SECONDS: "300" };
    await consumeDispatch(batch as MessageBatch<unknown>, settingsEnv, ctx, {
      fetch: async () => new Response(null, { status: 200 }),
      random: () => 1,
    });
    expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([{ msgId: "queue-msg-0" }]);

    const ctx2 = createExecutionContext();
    const batch2 = jobsFor({ tenantId: tenant.id, id: message.id, attempts: 2 });
    const delays2 = recordDelays(batch2);
    await consumeDispatch(batch2 as MessageBatch<unknown>, settingsEnv, ctx2, {
      fetch: async () => new Response(null, { status: 200 }),
      random: () => 1,
    });
    await getQueueResult(batch2, ctx2);
    // Full jitter at its top (random() = 1): 2 s after the first failure, 4 s after the second.
    expect(delays).toEqual([2]);
    expect(delays2).toEqual([4]);
  });

  it("fails a permanent error at once, with the provider's reason, and acks it", async () => {
    const { tenant, message } = await loggedMessage("+8613800130000");
    const result = await run(jobsFor({ tenantId: tenant.id, id: message.id }));
    expect(result.explicitAcks).toEqual(["queue-msg-0"]);
    expect(await statusOf(message.id)).toBe("failed");
    const row = await env.DB.prepare("SELECT status_reason FROM messages WHERE id = ?")
      .bind(message.id)
      .first<{ status_reason: string }>();
    expect(row?.status_reason).toContain("sandbox_rejected");
  });

  it("gives up after MAX_ATTEMPTS retryable failures and ends the message failed", async () => {
    const { tenant, message } = await loggedMessage("+8613800138101");
    let calls = 0;
    const alwaysBusy: SmsAdapter = {
      ...sandbox,
      send: async () => {
        calls++;
        return { kind: "failed", retryable: true, code: "busy", reason: "carrier busy" };
      },
    };
    const deps = {
      fetch: async () => new Response(null),
      adapters: { sandbox: alwaysBusy },
    };
    for (let delivery = 1; delivery <= 5; delivery++) {
      const ctx = createExecutionContext();
      const batch = jobsFor({ tenantId: tenant.id, id: message.id, attempts: delivery });
      await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, deps);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toEqual(delivery < 5 ? [] : ["queue-msg-0"]);
    }
    expect(calls).toBe(5);
    expect(await statusOf(message.id)).toBe("failed");
    const row = await env.DB.prepare("SELECT status_reason FROM messages WHERE id = ?")
      .bind(message.id)
      .first<{ status_reason: string }>();
    expect(row?.status_reason).toBe("gave up after 5 attempts; last: busy: carrier busy");
  });

  it("keeps the record of a batch's sends when one send throws, and holds only that one", async () => {
    const tenant = await createTenant();
    const good = outboxMessage(tenant.id, "+8613800138110");
    const bad = outboxMessage(tenant.id, "+8613800138111");
    await logMessages(env.DB, [good, bad]);
    const sends: string[] = [];
    // A bug that throws before any promise exists, which the adapters' own catch cannot see.
    const buggy: SmsAdapter = {
      ...sandbox,
      send: (request, settings, io) => {
        if (request.to === bad.recipient) {
          throw new Error("adapter bug");
        }
        sends.push(request.to);
        return sandbox.send(request, settings, io);
      },
    };
    const batch = jobsFor(
      { tenantId: tenant.id, id: good.id },
      { tenantId: tenant.id, id: bad.id },
    );
    const delays = recordDelays(batch);
    const ctx = createExecutionContext();
    await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, {
      fetch: async () => new Response(null),
      adapters: { sandbox: buggy },
    });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["queue-msg-0"]);
    expect(result.retryMessages).toEqual([{ msgId: "queue-msg-1" }]);
    expect(delays).toEqual([60]); // after the claim lapses
    expect(await attemptsOf(good.id)).toEqual([{ attempt: 1, outcome: "sent" }]);
    expect(await statusOf(bad.id)).toBe("sending");

    // The good one's copy, delivered again, finds it sent and sends nothing.
    await run(jobsFor({ tenantId: tenant.id, id: good.id, attempts: 2 }));
    expect(sends).toEqual([good.recipient]);
  });

  it("sends once when the same job is delivered twice at the same time", async () => {
    const { tenant, message } = await loggedMessage("+8613800138102");
    let calls = 0;
    const slowSandbox: SmsAdapter = {
      ...sandbox,
      send: async (request, settings, io) => {
        calls++;
        await scheduler.wait(50);
        return sandbox.send(request, settings, io);
      },
    };
    const deps = { fetch: async () => new Response(null), adapters: { sandbox: slowSandbox } };
    const twice = jobsFor(
      { tenantId: tenant.id, id: message.id },
      { tenantId: tenant.id, id: message.id },
    );
    const ctx = createExecutionContext();
    const separately = jobsFor({ tenantId: tenant.id, id: message.id });
    const ctx2 = createExecutionContext();
    await Promise.all([
      consumeDispatch(twice as MessageBatch<unknown>, env, ctx, deps),
      consumeDispatch(separately as MessageBatch<unknown>, env, ctx2, deps),
    ]);
    expect(calls).toBe(1);
    expect(await attemptsOf(message.id)).toEqual([{ attempt: 1, outcome: "sent" }]);
    const results = [await getQueueResult(twice, ctx), await getQueueResult(separately, ctx2)];
    const acked = results.flatMap((r) => r.explicitAcks).length;
    const retried = results.flatMap((r) => r.retryMessages).length;
    expect(acked + retried).toBe(3);
    expect(acked).toBeGreaterThanOrEqual(1);

    // The held copies come back later, find the message sent, and are acked without a send.
    const later = await run(jobsFor({ tenantId: tenant.id, id: message.id, attempts: 2 }));
    expect(later.explicitAcks).toEqual(["queue-msg-0"]);
    expect(calls).toBe(1);
  });

  it("treats a provider call that throws as an unknown outcome, without failing the rest of the batch", async () => {
    const tenant = await createTenant();
    const ok = outboxMessage(tenant.id, "+8613800138110");
    const broken = outboxMessage(tenant.id, "+8613800138111");
    await logMessages(env.DB, [ok, broken]);
    const flaky: SmsAdapter = {
      ...sandbox,
      send: async (request, settings, io) => {
        if (request.to === broken.recipient) {
          throw new Error("socket hang up");
        }
        return sandbox.send(request, settings, io);
      },
    };
    const batch = jobsFor(
      { tenantId: tenant.id, id: ok.id },
      { tenantId: tenant.id, id: broken.id },
    );
    const ctx = createExecutionContext();
    await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, {
      fetch: async () => new Response(null),
      adapters: { sandbox: flaky },
    });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["queue-msg-0"]);
    expect(result.retryMessages).toEqual([{ msgId: "queue-msg-1" }]);
    expect(await attemptsOf(ok.id)).toEqual([{ attempt: 1, outcome: "sent" }]);
    expect(await attemptsOf(broken.id)).toEqual([{ attempt: 1, outcome: "unknown" }]);
  });

  it("keeps a receipt that arrives before the send is recorded, and still records the send", async () => {
    const { tenant, message } = await loggedMessage("+8613800138112");
    // A carrier whose receipt reaches our hook before its API call has even returned.
    const eager: SmsAdapter = {
      ...sandbox,
      send: async (request) => {
        const receipt = {
          message_id: request.messageId,
          provider_message_id: "eager-1",
          status: "delivered",
        };
        const res = await call(new URL(request.statusCallbackUrl).pathname, null, {
          method: "POST",
          body: JSON.stringify(receipt),
        });
        expect(res.status).toBe(200);
        return { kind: "sent", providerMessageId: "eager-1" };
      },
    };
    const batch = jobsFor({ tenantId: tenant.id, id: message.id });
    const ctx = createExecutionContext();
    await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, {
      fetch: async () => new Response(null),
      adapters: { sandbox: eager },
    });
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["queue-msg-0"]);
    const row = await env.DB.prepare(
      "SELECT status, provider, provider_message_id, sent_at FROM messages WHERE id = ?",
    )
      .bind(message.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      status: "delivered",
      provider: "sandbox",
      provider_message_id: "eager-1",
    });
    expect(row?.sent_at).toEqual(expect.any(Number));
    expect(await attemptsOf(message.id)).toEqual([{ attempt: 1, outcome: "sent" }]);
  });

  it("keeps a carrier's answer through a D1 outage longer than its retries, and never calls the carrier again", async () => {
    const { tenant, stub, runAlarm } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800138113");
    await logMessages(env.DB, [message]);
    const outage = d1Outage(env.DB);
    // The tenant's dispatcher sees the same outage as the consumer.
    await runInDurableObject(stub, (instance: TenantDispatcher) => {
      const own = (instance as unknown as { env: Env }).env;
      Object.defineProperty(instance, "env", { value: { ...own, DB: outage.db } });
    });
    let calls = 0;
    const carrier: SmsAdapter = {
      ...sandbox,
      send: async () => {
        calls++;
        outage.begin(); // D1 goes down while the carrier is taking the message
        return { kind: "sent", providerMessageId: "carrier-ref-1" };
      },
    };
    const deps = { fetch: async () => new Response(null), adapters: { sandbox: carrier } };
    const consumerEnv = { ...env, DB: outage.db };

    const first = jobsFor({ tenantId: tenant.id, id: message.id });
    const ctx = createExecutionContext();
    await consumeDispatch(first as MessageBatch<unknown>, consumerEnv, ctx, deps);
    expect((await getQueueResult(first, ctx)).explicitAcks).toEqual(["queue-msg-0"]);
    expect(outage.refused).toBeGreaterThanOrEqual(3);
    expect(await statusOf(message.id)).toBe("sending");

    outage.end();
    await runAlarm();
    expect(await statusOf(message.id)).toBe("sent");
    expect(await attemptsOf(message.id)).toEqual([{ attempt: 1, outcome: "sent" }]);
    const row = await env.DB.prepare("SELECT provider_message_id FROM messages WHERE id = ?")
      .bind(message.id)
      .first<{ provider_message_id: string }>();
    expect(row?.provider_message_id).toBe("carrier-ref-1");

    // A copy of the job delivered long after the first claim lapsed finds it sent.
    const again = jobsFor({ tenantId: tenant.id, id: message.id, attempts: 2 });
    const ctx2 = createExecutionContext();
    await consumeDispatch(again as MessageBatch<unknown>, consumerEnv, ctx2, {
      ...deps,
      now: () => Date.now() + 61_000,
    });
    expect((await getQueueResult(again, ctx2)).explicitAcks).toEqual(["queue-msg-0"]);
    expect(calls).toBe(1);
  });

  it("keeps a carrier's refusal through a D1 outage, and the message ends failed with it", async () => {
    const { tenant, stub, runAlarm } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800138114");
    await logMessages(env.DB, [message]);
    const outage = d1Outage(env.DB);
    await runInDurableObject(stub, (instance: TenantDispatcher) => {
      const own = (instance as unknown as { env: Env }).env;
      Object.defineProperty(instance, "env", { value: { ...own, DB: outage.db } });
    });
    let calls = 0;
    const carrier: SmsAdapter = {
      ...sandbox,
      send: async () => {
        calls++;
        outage.begin();
        return { kind: "failed", retryable: false, code: "21610", reason: "recipient opted out" };
      },
    };
    const deps = { fetch: async () => new Response(null), adapters: { sandbox: carrier } };
    const consumerEnv = { ...env, DB: outage.db };
    const first = jobsFor({ tenantId: tenant.id, id: message.id });
    const ctx = createExecutionContext();
    await consumeDispatch(first as MessageBatch<unknown>, consumerEnv, ctx, deps);
    expect((await getQueueResult(first, ctx)).explicitAcks).toEqual(["queue-msg-0"]);

    outage.end();
    await runAlarm();
    const row = await env.DB.prepare("SELECT status, status_reason FROM messages WHERE id = ?")
      .bind(message.id)
      .first<{ status: string; status_reason: string }>();
    expect(row).toEqual({ status: "failed", status_reason: "21610: recipient opted out" });
    expect(await attemptsOf(message.id)).toEqual([{ attempt: 1, outcome: "permanent" }]);
    await run(jobsFor({ tenantId: tenant.id, id: message.id, attempts: 2 }));
    expect(calls).toBe(1);
  });

  it("acks a job for a message that already reached a final state without sending", async () => {
    const { tenant, message } = await loggedMessage("+8613800138103");
    await env.DB.prepare("UPDATE messages SET status = 'canceled' WHERE id = ?")
      .bind(message.id)
      .run();
    const result = await run(jobsFor({ tenantId: tenant.id, id: message.id }));
    expect(result.explicitAcks).toEqual(["queue-msg-0"]);
    expect(await attemptsOf(message.id)).toEqual([]);
  });

  it("drops an unreadable job with an ack instead of retrying it forever", async () => {
    const batch = createMessageBatch("relaybox-dispatch", [
      { id: "junk", timestamp: new Date(), attempts: 1, body: { hello: "world" } },
    ]);
    const result = await run(batch as unknown as MessageBatch<DispatchJob>);
    expect(result.explicitAcks).toEqual(["junk"]);
  });
});

describe("dead-letter consumer", () => {
  it("ends a dead-lettered message failed with the reason, and tells the tenant's webhook", async () => {
    const { tenant, message } = await loggedMessage("+8613800138104");
    const hook = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/dead", events: ["message.failed"] }),
    );
    const { id: endpointId } = (await hook.json()) as { id: string };
    const batch = createMessageBatch<DispatchJob>("relaybox-dispatch-dlq", [
      {
        id: "dead-1",
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, tenant_id: tenant.id, message_id: message.id },
      },
    ]);
    const ctx = createExecutionContext();
    await consumeDeadLetters(batch as MessageBatch<unknown>, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["dead-1"]);
    expect(await statusOf(message.id)).toBe("failed");
    const event = await env.DB.prepare(
      "SELECT payload FROM webhook_deliveries WHERE endpoint_id = ? AND event_type = 'message.failed'",
    )
      .bind(endpointId)
      .first<{ payload: string }>();
    expect(JSON.parse(event?.payload ?? "{}")).toMatchObject({
      data: {
        id: message.id,
        status: "failed",
        status_reason: expect.stringMatching(/dead-lettered/),
      },
    });
  });

  it("leaves a message another consumer is sending, and looks at it again after that claim", async () => {
    const { tenant, message } = await loggedMessage("+8613800138106");
    const claimedUntil = Date.now() + 60_000;
    await env.DB.prepare(
      "UPDATE messages SET status = 'sending', claim_id = 'live-claim', claimed_until = ? WHERE id = ?",
    )
      .bind(claimedUntil, message.id)
      .run();
    const batch = createMessageBatch<DispatchJob>("relaybox-dispatch-dlq", [
      {
        id: "dead-3",
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, tenant_id: tenant.id, message_id: message.id },
      },
    ]);
    const delays = recordDelays(batch);
    const ctx = createExecutionContext();
    await consumeDeadLetters(batch as MessageBatch<unknown>, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: "dead-3" }]);
    expect(delays[0]).toBeGreaterThanOrEqual(60);
    expect(delays[0]).toBeLessThanOrEqual(62);
    expect(await statusOf(message.id)).toBe("sending");

    // Once that claim has lapsed with nothing recorded, the dead letter ends it.
    await env.DB.prepare("UPDATE messages SET claimed_until = ? WHERE id = ?")
      .bind(Date.now() - 1, message.id)
      .run();
    const later = createMessageBatch<DispatchJob>("relaybox-dispatch-dlq", [
      {
        id: "dead-4",
        timestamp: new Date(),
        attempts: 2,
        body: { v: 1, tenant_id: tenant.id, message_id: message.id },
      },
    ]);
    const ctx2 = createExecutionContext();
    await consumeDeadLetters(later as MessageBatch<unknown>, env);
    expect((await getQueueResult(later, ctx2)).explicitAcks).toEqual(["dead-4"]);
    expect(await statusOf(message.id)).toBe("failed");
  });

  it("leaves a message that was already sent as it is", async () => {
    const { tenant, message } = await loggedMessage("+8613800138105");
    await env.DB.prepare("UPDATE messages SET status = 'sent' WHERE id = ?").bind(message.id).run();
    const batch = createMessageBatch<DispatchJob>("relaybox-dispatch-dlq", [
      {
        id: "dead-2",
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, tenant_id: tenant.id, message_id: message.id },
      },
    ]);
    await worker.queue(batch as MessageBatch<unknown>, env, createExecutionContext());
    expect(await statusOf(message.id)).toBe("sent");
  });
});
