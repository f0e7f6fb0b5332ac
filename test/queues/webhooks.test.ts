import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { emitEvents, type MessageEvent } from "../../src/delivery/webhook-events";
import type { WebhookJob } from "../../src/delivery/webhook-payloads";
import { verifyWebhookSignature } from "../../src/domain/webhook-signature";
import worker from "../../src/index";
import { consumeWebhooks, type WebhookDeps } from "../../src/queues/webhooks";
import { createTenant, eventually, type TestTenant } from "../support/tenants";
import { createEndpoint, deliveriesOf, deliveryRow, messageEvent } from "../support/webhooks";

const HOUR_MS = 3_600_000;

/** An env whose WEBHOOK_QUEUE keeps what is sent, so only these tests consume it. */
function capturingEnv() {
  const sent: WebhookJob[] = [];
  const queue = {
    send: async (body: WebhookJob) => {
      sent.push(body);
    },
    sendBatch: async (messages: Iterable<MessageSendRequest<WebhookJob>>) => {
      for (const message of messages) {
        sent.push(message.body);
      }
    },
  };
  return { sent, env: { ...env, WEBHOOK_QUEUE: queue as unknown as Queue } };
}

/** A tenant, an endpoint, and one emitted event whose queue message was kept, not consumed. */
async function pendingDelivery(
  options: { url?: string; event?: (tenant: TestTenant) => MessageEvent } = {},
) {
  const tenant = await createTenant();
  const endpoint = await createEndpoint(tenant, { url: options.url });
  const captured = capturingEnv();
  await emitEvents(captured.env, [(options.event ?? messageEvent)(tenant)]);
  const [job] = captured.sent;
  if (!job) {
    throw new Error("no webhook job was queued");
  }
  return { tenant, endpoint, job };
}

function batchOf(jobs: WebhookJob[], attempts = 1) {
  return createMessageBatch<WebhookJob>(
    "relaybox-webhooks",
    jobs.map((body, n) => ({ id: `wh-${n}`, timestamp: new Date(), attempts, body })),
  );
}

/** The harness does not keep `retry()`'s options: record the delays asked for. */
function recordDelays(batch: MessageBatch<WebhookJob>): (number | undefined)[] {
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

async function consume(batch: MessageBatch<WebhookJob>, deps: WebhookDeps) {
  const ctx = createExecutionContext();
  await consumeWebhooks(batch as MessageBatch<unknown>, env, deps);
  return getQueueResult(batch, ctx);
}

/** A fake tenant endpoint: answers with `statuses` in turn and keeps every request. */
function endpointAnswering(...statuses: number[]) {
  const requests: { request: Request; body: string }[] = [];
  const fetch = async (request: Request) => {
    requests.push({ request, body: await request.text() });
    const status = statuses[Math.min(requests.length, statuses.length) - 1] ?? 200;
    const headers: Record<string, string> =
      status === 302 ? { location: "http://169.254.169.254/latest/meta-data/" } : {};
    return new Response(status === 204 || status === 302 ? null : "answer", { status, headers });
  };
  return { fetch, requests };
}

function attemptsOf(row: { attempts: string } | null) {
  return JSON.parse(row?.attempts ?? "[]") as {
    at: number;
    statusCode: number | null;
    error: string | null;
    latencyMs: number;
  }[];
}

describe("webhook consumer", () => {
  it("POSTs the event signed, with the documented headers, and the tenant's own code verifies it", async () => {
    const { endpoint, job } = await pendingDelivery();
    const tenantEndpoint = endpointAnswering(200);
    const result = await consume(batchOf([job]), { fetch: tenantEndpoint.fetch });

    expect(result.explicitAcks).toEqual(["wh-0"]);
    expect(result.retryMessages).toEqual([]);
    expect(tenantEndpoint.requests).toHaveLength(1);
    const [sent] = tenantEndpoint.requests;
    if (!sent) {
      throw new Error("nothing was sent");
    }
    const { request, body } = sent;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://hooks.example.com/relaybox");
    expect(request.redirect).toBe("manual");
    expect([...request.headers.keys()].sort()).toEqual([
      "content-type",
      "relaybox-event-id",
      "relaybox-signature",
      "user-agent",
    ]);
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.headers.get("user-agent")).toBe("Relaybox-Webhooks/1");
    const signature = request.headers.get("relaybox-signature");
    expect(signature).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(await verifyWebhookSignature(signature, body, endpoint.secret)).toBe(true);
    expect(await verifyWebhookSignature(signature, body, "whsec_someone-else")).toBe(false);

    const event = JSON.parse(body) as Record<string, unknown>;
    expect(Object.keys(event)).toEqual(["id", "type", "created_at", "data"]);
    expect(event.id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(request.headers.get("relaybox-event-id")).toBe(event.id);
    expect(event.type).toBe("message.delivered");
    expect(event.created_at).toBe("2026-11-20T08:00:00.000Z");
    expect(event.data).toMatchObject({ status: "delivered", to: "+8613800138000" });

    const row = await deliveryRow(job.delivery_id);
    expect(row?.status).toBe("delivered");
    expect(row?.payload).toBe(body);
    expect(attemptsOf(row)).toEqual([
      { at: expect.any(Number), statusCode: 200, error: null, latencyMs: expect.any(Number) },
    ]);
  });

  it("retries a 500 with backoff, then a 200 delivers it, with both attempts recorded", async () => {
    const { endpoint, job } = await pendingDelivery();
    const tenantEndpoint = endpointAnswering(500, 200);
    const t0 = Date.now();

    const first = batchOf([job], 1);
    const delays = recordDelays(first);
    const down = await consume(first, {
      fetch: tenantEndpoint.fetch,
      now: () => t0,
      random: () => 1,
    });
    expect(down.explicitAcks).toEqual([]);
    expect(down.retryMessages).toEqual([{ msgId: "wh-0" }]);
    expect(delays).toEqual([30]);
    const waiting = await deliveryRow(job.delivery_id);
    expect(waiting?.status).toBe("pending");
    expect(waiting?.next_attempt_at).toBe(t0 + 30_000);

    // The queue brings the message back after the delay; the endpoint is up again.
    const again = await consume(batchOf([job], 2), {
      fetch: tenantEndpoint.fetch,
      now: () => t0 + 30_000,
    });
    expect(again.explicitAcks).toEqual(["wh-0"]);
    const row = await deliveryRow(job.delivery_id);
    expect(row?.status).toBe("delivered");
    expect(row?.attempt_count).toBe(2);
    expect(attemptsOf(row).map((a) => [a.at, a.statusCode, a.error])).toEqual([
      [t0, 500, null],
      [t0 + 30_000, 200, null],
    ]);
    // Both requests carry the same event, each signed when it was sent.
    const [a, b] = tenantEndpoint.requests;
    expect(a?.body).toBe(b?.body);
    expect(a?.request.headers.get("relaybox-event-id")).toBe(
      b?.request.headers.get("relaybox-event-id"),
    );
    for (const { request, body } of tenantEndpoint.requests) {
      const signature = request.headers.get("relaybox-signature");
      expect(await verifyWebhookSignature(signature, body, endpoint.secret, t0 + 30_000)).toBe(
        true,
      );
    }
  });

  it("waits longer after each failure: 30 s, 1 min, 2 min … with jitter in the upper half", async () => {
    const { job } = await pendingDelivery();
    const tenantEndpoint = endpointAnswering(503);
    const t0 = Date.now();
    const seen: (number | undefined)[] = [];
    let now = t0;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const batch = batchOf([job], attempt);
      const delays = recordDelays(batch);
      await consume(batch, { fetch: tenantEndpoint.fetch, now: () => now, random: () => 0.5 });
      seen.push(...delays);
      now += (delays[0] ?? 0) * 1000;
    }
    expect(seen).toEqual([23, 45, 90, 180]);
    expect((await deliveryRow(job.delivery_id))?.attempt_count).toBe(4);
  });

  it("does not follow a 302: one request, recorded as a failed attempt and retried", async () => {
    const { job } = await pendingDelivery();
    const tenantEndpoint = endpointAnswering(302);
    const result = await consume(batchOf([job]), { fetch: tenantEndpoint.fetch });
    expect(tenantEndpoint.requests).toHaveLength(1);
    expect(result.retryMessages).toEqual([{ msgId: "wh-0" }]);
    const row = await deliveryRow(job.delivery_id);
    expect(row?.status).toBe("pending");
    expect(attemptsOf(row).map((a) => [a.statusCode, a.error])).toEqual([
      [302, "redirects are not followed (to http://169.254.169.254/latest/meta-data/)"],
    ]);
  });

  it("does not follow a redirect with the real fetch either (redirect: manual)", async () => {
    const { job } = await pendingDelivery();
    const seen: Request[] = [];
    // The request the consumer builds is handed to the runtime's fetch unchanged.
    const result = await consume(batchOf([job]), {
      fetch: async (request) => {
        seen.push(request);
        return Response.redirect("https://elsewhere.example.com/", 307);
      },
    });
    expect(seen.map((r) => r.redirect)).toEqual(["manual"]);
    expect(result.retryMessages).toEqual([{ msgId: "wh-0" }]);
    expect(attemptsOf(await deliveryRow(job.delivery_id))[0]?.statusCode).toBe(307);
  });

  it("ends the delivery failed when an attempt fails 24 h after the series began", async () => {
    const { job } = await pendingDelivery();
    const tenantEndpoint = endpointAnswering(500);
    const now = job.series_started_at + 24 * HOUR_MS;
    const result = await consume(batchOf([job], 14), {
      fetch: tenantEndpoint.fetch,
      now: () => now,
    });
    expect(result.explicitAcks).toEqual(["wh-0"]);
    expect(result.retryMessages).toEqual([]);
    const row = await deliveryRow(job.delivery_id);
    expect(row?.status).toBe("failed");
    expect(row?.next_attempt_at).toBeNull();
    expect(attemptsOf(row).map((a) => a.statusCode)).toEqual([500]);
  });

  it("schedules the last retry at the 24 h mark, never past it", async () => {
    const { job } = await pendingDelivery();
    const batch = batchOf([job], 12);
    const delays = recordDelays(batch);
    const now = job.series_started_at + 24 * HOUR_MS - 90_000;
    await consume(batch, { fetch: endpointAnswering(500).fetch, now: () => now, random: () => 1 });
    expect(delays).toEqual([90]);
  });

  it("records a time-out and a network error as attempts without a status code", async () => {
    const { job } = await pendingDelivery();
    const hanging = async (request: Request) =>
      new Promise<Response>((_, reject) => {
        request.signal.addEventListener("abort", () => reject(request.signal.reason));
      });
    await consume(batchOf([job], 1), { fetch: hanging, timeoutMs: 50 });
    await consume(batchOf([job], 2), {
      fetch: async () => {
        throw new TypeError("Network connection lost.");
      },
      now: () => Date.now() + 60_000,
    });
    expect(
      attemptsOf(await deliveryRow(job.delivery_id)).map((a) => [a.statusCode, a.error]),
    ).toEqual([
      [null, "no response within 0.05 s"],
      [null, "request failed: Network connection lost."],
    ]);
  });

  it("signs with the rotated secret at once; the old one no longer verifies", async () => {
    const { tenant, endpoint, job } = await pendingDelivery();
    const res = await tenant.api(`/v1/webhooks/${endpoint.id}/rotate-secret`, { method: "POST" });
    const { secret } = (await res.json()) as { secret: string };
    const tenantEndpoint = endpointAnswering(200);
    await consume(batchOf([job]), { fetch: tenantEndpoint.fetch });
    const [sent] = tenantEndpoint.requests;
    const signature = sent?.request.headers.get("relaybox-signature") ?? null;
    expect(await verifyWebhookSignature(signature, sent?.body ?? "", secret)).toBe(true);
    expect(await verifyWebhookSignature(signature, sent?.body ?? "", endpoint.secret)).toBe(false);
  });

  it("drops a deleted endpoint's pending delivery without sending it", async () => {
    const { tenant, endpoint, job } = await pendingDelivery();
    expect((await tenant.api(`/v1/webhooks/${endpoint.id}`, { method: "DELETE" })).status).toBe(
      204,
    );
    expect(await deliveryRow(job.delivery_id)).toBeNull();
    const tenantEndpoint = endpointAnswering(200);
    const result = await consume(batchOf([job]), { fetch: tenantEndpoint.fetch });
    expect(result.explicitAcks).toEqual(["wh-0"]);
    expect(tenantEndpoint.requests).toHaveLength(0);
  });

  it("refuses to send when the stored URL no longer passes the rules, and says why", async () => {
    const { endpoint, job } = await pendingDelivery();
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?")
      .bind("https://0xa9fea9fe/latest/meta-data/", endpoint.id)
      .run();
    const tenantEndpoint = endpointAnswering(200);
    const result = await consume(batchOf([job]), { fetch: tenantEndpoint.fetch });
    expect(tenantEndpoint.requests).toHaveLength(0);
    expect(result.explicitAcks).toEqual(["wh-0"]);
    const row = await deliveryRow(job.delivery_id);
    expect(row?.status).toBe("failed");
    expect(attemptsOf(row)[0]?.error).toMatch(
      /^not sent: the endpoint's URL is refused \(169\.254\.169\.254 is a cloud metadata address/,
    );
  });

  it("acks a job for a delivery already delivered, and a second copy in one batch, sending once", async () => {
    const { job } = await pendingDelivery();
    const tenantEndpoint = endpointAnswering(200);
    const result = await consume(batchOf([job, job]), { fetch: tenantEndpoint.fetch });
    expect(result.explicitAcks.sort()).toEqual(["wh-0", "wh-1"]);
    const later = await consume(batchOf([job]), { fetch: tenantEndpoint.fetch });
    expect(later.explicitAcks).toEqual(["wh-0"]);
    expect(tenantEndpoint.requests).toHaveLength(1);
  });

  it("acks a message a later series superseded (its delivery is due much later)", async () => {
    const { job } = await pendingDelivery();
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?")
      .bind(Date.now() + HOUR_MS, job.delivery_id)
      .run();
    const tenantEndpoint = endpointAnswering(200);
    const result = await consume(batchOf([job]), { fetch: tenantEndpoint.fetch });
    expect(result.explicitAcks).toEqual(["wh-0"]);
    expect(tenantEndpoint.requests).toHaveLength(0);
    expect((await deliveryRow(job.delivery_id))?.status).toBe("pending");
  });

  it("drops an unreadable job", async () => {
    const batch = createMessageBatch("relaybox-webhooks", [
      { id: "bad", timestamp: new Date(), attempts: 1, body: { v: 2, delivery_id: 7 } },
    ]);
    const ctx = createExecutionContext();
    await consumeWebhooks(batch, env, { fetch: endpointAnswering(200).fetch });
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["bad"]);
  });

  it("sends at most six requests at a time", async () => {
    const tenant = await createTenant();
    await createEndpoint(tenant);
    const captured = capturingEnv();
    await emitEvents(
      captured.env,
      Array.from({ length: 10 }, () => messageEvent(tenant)),
    );
    expect(captured.sent).toHaveLength(10);
    let open = 0;
    let most = 0;
    const result = await consume(batchOf(captured.sent), {
      fetch: async () => {
        open++;
        most = Math.max(most, open);
        await scheduler.wait(5);
        open--;
        return new Response(null, { status: 204 });
      },
    });
    expect(result.explicitAcks).toHaveLength(10);
    expect(most).toBe(6);
  });
});

describe("replaying a delivery", () => {
  it("sends the same event again in a new series and keeps the earlier attempts", async () => {
    const { tenant, endpoint, job } = await pendingDelivery();
    await consume(batchOf([job], 1), {
      fetch: endpointAnswering(400).fetch,
      now: () => job.series_started_at + 24 * HOUR_MS,
    });
    expect((await deliveryRow(job.delivery_id))?.status).toBe("failed");

    // Through the API, with the worker's own consumer and a stand-in for the tenant's server.
    const received: { body: string; signature: string | null }[] = [];
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      received.push({
        body: await request.text(),
        signature: request.headers.get("relaybox-signature"),
      });
      return new Response("thanks");
    });
    try {
      const res = await tenant.api(
        `/v1/webhooks/${endpoint.id}/deliveries/${job.delivery_id}/replay`,
        { method: "POST" },
      );
      expect(res.status).toBe(202);
      expect(((await res.json()) as { status: string }).status).toBe("pending");
      const row = await eventually(async () => {
        const current = await deliveryRow(job.delivery_id);
        return current?.status === "delivered" ? current : undefined;
      });
      expect(attemptsOf(row).map((a) => a.statusCode)).toEqual([400, 200]);
      expect(received).toHaveLength(1);
      expect(received[0]?.body).toBe(row.payload);
      expect(
        await verifyWebhookSignature(received[0]?.signature ?? null, row.payload, endpoint.secret),
      ).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("emitting events", () => {
  it("creates one delivery per subscribed endpoint and none for other events or tenants", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const both = await createEndpoint(tenant, { events: ["message.sent", "message.delivered"] });
    const failures = await createEndpoint(tenant, { events: ["message.failed"] });
    const theirs = await createEndpoint(other, { events: ["message.delivered"] });
    const captured = capturingEnv();
    await emitEvents(captured.env, [
      messageEvent(tenant, "message.delivered"),
      messageEvent(tenant, "message.sent"),
      messageEvent(tenant, "message.expired"),
    ]);
    expect((await deliveriesOf(both.id)).map((d) => d.event_type).sort()).toEqual([
      "message.delivered",
      "message.sent",
    ]);
    expect(await deliveriesOf(failures.id)).toEqual([]);
    expect(await deliveriesOf(theirs.id)).toEqual([]);
    expect(captured.sent).toHaveLength(2);
    for (const job of captured.sent) {
      expect(Object.keys(job)).toEqual(["v", "delivery_id", "series_started_at"]);
    }
  });

  it("ignores a second emission of an event once it has been attempted", async () => {
    const { tenant, endpoint, job } = await pendingDelivery({
      event: (t) => messageEvent(t, "message.delivered", "msg_01M80PXC5AK10HXRNXDFRQCZ7R"),
    });
    const again = messageEvent(tenant, "message.delivered", "msg_01M80PXC5AK10HXRNXDFRQCZ7R");

    // Not attempted yet: queued again, in case the first queue send was lost.
    const before = capturingEnv();
    await emitEvents(before.env, [again]);
    expect(before.sent.map((j) => j.delivery_id)).toEqual([job.delivery_id]);

    await consume(batchOf([job]), { fetch: endpointAnswering(200).fetch });
    const after = capturingEnv();
    await emitEvents(after.env, [{ ...again, occurredAt: again.occurredAt + 5_000 }]);
    expect(after.sent).toEqual([]);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });

  it("costs one D1 query per tenant in a while, then none, when the tenant has no endpoints", async () => {
    const tenant = await createTenant();
    const queries: string[] = [];
    const db = new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare" || property === "batch") {
          queries.push(String(property));
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const captured = capturingEnv();
    const counting = { ...captured.env, DB: db };
    await emitEvents(counting, [messageEvent(tenant)]);
    expect(queries).toEqual(["prepare"]);
    for (let i = 0; i < 5; i++) {
      await emitEvents(counting, [messageEvent(tenant, "message.sent")]);
    }
    expect(queries).toEqual(["prepare"]);
    expect(captured.sent).toEqual([]);

    // Creating an endpoint in this isolate drops the cached "none" at once.
    await createEndpoint(tenant, { events: ["message.sent"] });
    await emitEvents(counting, [messageEvent(tenant, "message.sent")]);
    expect(captured.sent).toHaveLength(1);
  });

  it("does not fail for an endpoint deleted since it was cached, and sends it nothing", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant);
    const captured = capturingEnv();
    await emitEvents(captured.env, [messageEvent(tenant)]);
    // Deleted behind the cache's back, as another isolate would.
    await env.DB.prepare("DELETE FROM webhook_endpoints WHERE id = ?").bind(endpoint.id).run();
    await emitEvents(captured.env, [messageEvent(tenant)]);
    expect(captured.sent).toHaveLength(2);
    // The send-log partitions hold no endpoints (migration 0044): the consumer finds the second
    // delivery's endpoint gone, and acks it without a request.
    const tenantEndpoint = endpointAnswering(200);
    const result = await consume(batchOf(captured.sent.slice(1)), { fetch: tenantEndpoint.fetch });
    expect(result.explicitAcks).toEqual(["wh-0"]);
    expect(tenantEndpoint.requests).toHaveLength(0);
  });
});

describe("the worker's queue handler", () => {
  it("routes webhook batches to the webhook consumer", async () => {
    const { endpoint, job } = await pendingDelivery();
    const spy = vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("ok"));
    try {
      const batch = batchOf([job]);
      const ctx = createExecutionContext();
      await worker.queue(batch as MessageBatch<unknown>, env, ctx);
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["wh-0"]);
      expect(spy).toHaveBeenCalledTimes(1);
      expect((await deliveriesOf(endpoint.id))[0]?.status).toBe("delivered");
    } finally {
      spy.mockRestore();
    }
  });

  it("ends dead-lettered deliveries failed, with a note, without sending", async () => {
    const { job } = await pendingDelivery();
    const spy = vi.spyOn(globalThis, "fetch");
    try {
      const batch = createMessageBatch<WebhookJob>("relaybox-webhooks-dlq", [
        { id: "dead-0", timestamp: new Date(), attempts: 1, body: job },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch as MessageBatch<unknown>, env, ctx);
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["dead-0"]);
      expect(spy).not.toHaveBeenCalled();
      const row = await deliveryRow(job.delivery_id);
      expect(row?.status).toBe("failed");
      expect(attemptsOf(row).map((a) => a.error)).toEqual([
        "gave up: the webhook queue dead-lettered this delivery",
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it("delivers end to end: an emitted event reaches the endpoint through the real queue", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { events: ["message.failed"] });
    const received: { body: string; signature: string | null }[] = [];
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      received.push({
        body: await request.text(),
        signature: request.headers.get("relaybox-signature"),
      });
      return new Response(null, { status: 204 });
    });
    try {
      await emitEvents(env, [messageEvent(tenant, "message.failed")]);
      const [row] = await eventually(async () => {
        const rows = await deliveriesOf(endpoint.id);
        return rows[0]?.status === "delivered" ? rows : undefined;
      });
      expect(received).toHaveLength(1);
      expect(received[0]?.body).toBe(row?.payload);
      expect(
        await verifyWebhookSignature(
          received[0]?.signature ?? null,
          received[0]?.body ?? "",
          endpoint.secret,
        ),
      ).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
