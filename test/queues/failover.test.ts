import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DispatchJob } from "../../src/delivery/payloads";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { consumeDispatch } from "../../src/queues/dispatch";
import { outboxMessage, statusOf } from "../support/messages";
import { d1Outage } from "../support/outage";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

const TWILIO = {
  config: {
    account_sid: `AC${"a1".repeat(16)}`,
    from: "+14155550100",
    base_url: "https://twilio.test",
  },
  credentials: { auth_token: "twilio-auth-token-0123456789" },
};

/** A tenant with Twilio (a fake) first and the sandbox second for China. */
async function tenantWithFailover(): Promise<TestTenant> {
  const tenant = await createTenant();
  const put = await tenant.api("/v1/providers/twilio", {
    method: "PUT",
    body: JSON.stringify(TWILIO),
  });
  expect(put.status).toBe(201);
  const route = await tenant.api(
    "/v1/routes",
    postJson({
      destination: "CN",
      providers: [
        { provider: "twilio", priority: 1 },
        { provider: "sandbox", priority: 2 },
      ],
    }),
  );
  expect(route.status).toBe(201);
  return tenant;
}

/**
 * Twilio answers each send with `twilio` and lists the sends it answered 201 to (its Messages
 * list, which the consumer's lookup reads); every other request (the sandbox's receipts) gets a
 * 200. `calls` holds the hosts of the sends, `lookups` counts the list reads.
 */
function fakeCarriers(twilio: () => Promise<Response>) {
  const calls: string[] = [];
  const accepted: Record<string, string>[] = [];
  let lookups = 0;
  const fetch = async (request: Request) => {
    const url = new URL(request.url);
    if (url.host === "twilio.test" && request.method === "GET") {
      lookups += 1;
      const to = url.searchParams.get("To");
      return Response.json({ messages: accepted.filter((m) => m.to === to).reverse() });
    }
    calls.push(url.host);
    if (url.host !== "twilio.test") {
      return new Response("{}");
    }
    const form = new URLSearchParams(await request.clone().text());
    const response = await twilio();
    if (response.status === 201) {
      const { sid } = (await response.clone().json()) as { sid: string };
      accepted.push({
        sid,
        to: form.get("To") ?? "",
        body: form.get("Body") ?? "",
        direction: "outbound-api",
        date_created: new Date().toUTCString(),
      });
    }
    return response;
  };
  return { calls, fetch, lookups: () => lookups };
}

async function deliver(
  tenant: TestTenant,
  messageId: string,
  fetch: (request: Request) => Promise<Response>,
  attempts = 1,
  options: { env?: Env; now?: () => number } = {},
) {
  const batch = createMessageBatch<DispatchJob>("relaybox-dispatch", [
    {
      id: `q-${attempts}`,
      timestamp: new Date(),
      attempts,
      body: { v: 1, tenant_id: tenant.id, message_id: messageId },
    },
  ]);
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
  const ctx = createExecutionContext();
  await consumeDispatch(batch as MessageBatch<unknown>, options.env ?? env, ctx, {
    fetch,
    now: options.now,
  });
  return { result: await getQueueResult(batch, ctx), delays };
}

/** The message's attempts, read with a key of its mode (`key`, else the tenant's live key). */
async function attempts(tenant: TestTenant, id: string, key = tenant.key) {
  const res = await call(`/v1/messages/${id}`, key);
  const body = (await res.json()) as {
    attempts: { provider: string; outcome: string; reason: string | null }[];
  };
  return body.attempts.map((a) => [a.provider, a.outcome]);
}

describe("routing and failover", () => {
  it("fails over to the next provider at once after a retryable failure, and shows why", async () => {
    const tenant = await tenantWithFailover();
    const message = outboxMessage(tenant.id, "+8613800138500", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carriers = fakeCarriers(async () =>
      Response.json({ code: 20503, message: "Service unavailable" }, { status: 503 }),
    );

    const first = await deliver(tenant, message.id, carriers.fetch);
    expect(first.result.retryMessages).toHaveLength(1);
    expect(first.delays).toEqual([0]);
    const second = await deliver(tenant, message.id, carriers.fetch, 2);
    expect(second.result.explicitAcks).toHaveLength(1);
    expect(["sent", "delivered"]).toContain(await statusOf(message.id));
    expect(await attempts(tenant, message.id)).toEqual([
      ["twilio", "retryable"],
      ["sandbox", "sent"],
    ]);
    const res = await tenant.api(`/v1/messages/${message.id}`);
    const body = (await res.json()) as { attempts: { reason: string | null }[]; provider: string };
    expect(body.attempts[0]?.reason).toMatch(/503|unavailable/i);
    expect(body.provider).toBe("sandbox");
  });

  it("after no answer retries the same provider later, never a second one blindly", async () => {
    const tenant = await tenantWithFailover();
    const message = outboxMessage(tenant.id, "+8613800138501", { mode: "live" });
    await logMessages(env.DB, [message]);
    let calls = 0;
    const carriers = fakeCarriers(async () => {
      calls += 1;
      if (calls === 1) {
        throw new TypeError("Network connection lost.");
      }
      return Response.json({ sid: `SM${"b2".repeat(16)}` }, { status: 201 });
    });
    const first = await deliver(tenant, message.id, carriers.fetch);
    expect(first.result.retryMessages).toHaveLength(1);
    expect(first.delays[0]).toBeGreaterThanOrEqual(0);
    await deliver(tenant, message.id, carriers.fetch, 2);
    expect(await attempts(tenant, message.id)).toEqual([
      ["twilio", "unknown"],
      ["twilio", "sent"],
    ]);
    expect(carriers.calls.filter((host) => host === "twilio.test")).toHaveLength(2);
  });

  it("stays with a provider that once gave no answer, even after it later fails retryably", async () => {
    const tenant = await tenantWithFailover();
    const message = outboxMessage(tenant.id, "+8613800138503", { mode: "live" });
    await logMessages(env.DB, [message]);
    const answers = [
      async () => {
        throw new TypeError("Network connection lost.");
      },
      async () => Response.json({ code: 20503, message: "Service unavailable" }, { status: 503 }),
      async () => Response.json({ sid: `SM${"c3".repeat(16)}` }, { status: 201 }),
    ];
    const carriers = fakeCarriers(() => {
      const answer = answers.shift();
      if (!answer) {
        throw new Error("Twilio was called more than three times");
      }
      return answer();
    });
    await deliver(tenant, message.id, carriers.fetch);
    await deliver(tenant, message.id, carriers.fetch, 2);
    // No failover: the retry waits its backoff and goes back to Twilio.
    const view = await tenant.api(`/v1/messages/${message.id}`);
    expect(((await view.json()) as { status_reason: string }).status_reason).toMatch(/^retrying/);
    await deliver(tenant, message.id, carriers.fetch, 3);
    expect(await attempts(tenant, message.id)).toEqual([
      ["twilio", "unknown"],
      ["twilio", "retryable"],
      ["twilio", "sent"],
    ]);
    expect(carriers.calls.filter((host) => host === "twilio.test")).toHaveLength(3);
  });

  it("treats a claim that lapsed with no outcome recorded as no answer: asks the same provider only", async () => {
    const tenant = await tenantWithFailover();
    const message = outboxMessage(tenant.id, "+8613800138504", { mode: "live" });
    await logMessages(env.DB, [message]);
    const outage = d1Outage(env.DB);
    const answers = [
      // Twilio takes it, and then the consumer can record nothing, anywhere.
      async () => {
        outage.begin();
        return Response.json({ sid: `SM${"d4".repeat(16)}` }, { status: 201 });
      },
    ];
    const carriers = fakeCarriers(() => {
      const answer = answers.shift();
      if (!answer) {
        throw new Error("Twilio was sent the message twice");
      }
      return answer();
    });
    const unreachable = new Proxy(env.DISPATCHER, {
      get(target, prop) {
        if (prop === "get") {
          return () => {
            throw new Error("the dispatcher is unreachable (test)");
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const first = await deliver(tenant, message.id, carriers.fetch, 1, {
      env: { ...env, DB: outage.db, DISPATCHER: unreachable },
    });
    expect(first.result.explicitAcks).toEqual([]);
    outage.end();

    // Redelivered after the claim lapsed: Twilio may have it, so only Twilio is asked, and has it.
    const afterClaim = () => Date.now() + 61_000;
    const second = await deliver(tenant, message.id, carriers.fetch, 2, { now: afterClaim });
    expect(second.result.explicitAcks).toHaveLength(1);
    expect(await attempts(tenant, message.id)).toEqual([
      ["twilio", "unknown"],
      ["twilio", "sent"],
    ]);
    expect(carriers.lookups()).toBe(1);
    expect(carriers.calls).toEqual(["twilio.test"]);
    const view = await tenant.api(`/v1/messages/${message.id}`);
    expect(((await view.json()) as { provider_message_id: string }).provider_message_id).toBe(
      `SM${"d4".repeat(16)}`,
    );
  });

  it("never sends a free text through a provider that sends only its own templates", async () => {
    const tenant = await createTenant();
    await tenant.api("/v1/providers/aliyun", {
      method: "PUT",
      body: JSON.stringify({
        config: {
          access_key_id: "LTAI5tExampleKey",
          sign_name: "Relaybox",
          base_url: "https://aliyun.test",
        },
        credentials: { access_key_secret: "aliyun-secret-0123" },
      }),
    });
    await tenant.api(
      "/v1/routes",
      postJson({ destination: "CN", providers: [{ provider: "aliyun" }] }),
    );
    const message = outboxMessage(tenant.id, "+8613800138502", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carriers = fakeCarriers(async () => new Response("{}"));
    const { result } = await deliver(tenant, message.id, carriers.fetch);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await statusOf(message.id)).toBe("failed");
    expect(carriers.calls).toEqual([]);
    const res = await tenant.api(`/v1/messages/${message.id}`);
    expect(((await res.json()) as { status_reason: string }).status_reason).toMatch(/free text/);
  });

  it("skips a provider whose circuit opened after consecutive failures", async () => {
    const tenant = await tenantWithFailover();
    const carriers = fakeCarriers(async () => new Response("down", { status: 502 }));
    const messages = Array.from({ length: 21 }, (_, n) =>
      outboxMessage(tenant.id, `+86138001385${String(10 + n)}`, { mode: "live" }),
    );
    await logMessages(env.DB, messages);
    for (const message of messages.slice(0, 20)) {
      await deliver(tenant, message.id, carriers.fetch);
    }
    expect(carriers.calls.filter((host) => host === "twilio.test")).toHaveLength(20);
    // The 21st goes straight to the sandbox: Twilio's circuit is open.
    const last = messages[20];
    if (!last) {
      throw new Error("21 messages");
    }
    const { result } = await deliver(tenant, last.id, carriers.fetch);
    expect(result.explicitAcks).toHaveLength(1);
    expect(carriers.calls.filter((host) => host === "twilio.test")).toHaveLength(20);
    expect(await attempts(tenant, last.id)).toEqual([["sandbox", "sent"]]);
  });

  it("waits without spending an attempt while every provider's circuit is open", async () => {
    const tenant = await createTenant();
    await tenant.api("/v1/providers/twilio", { method: "PUT", body: JSON.stringify(TWILIO) });
    await tenant.api(
      "/v1/routes",
      postJson({ destination: "CN", providers: [{ provider: "twilio" }] }),
    );
    const carriers = fakeCarriers(async () => new Response("down", { status: 502 }));
    const messages = Array.from({ length: 21 }, (_, n) =>
      outboxMessage(tenant.id, `+86138001386${String(10 + n)}`, { mode: "live" }),
    );
    await logMessages(env.DB, messages);
    for (const message of messages.slice(0, 20)) {
      await deliver(tenant, message.id, carriers.fetch);
    }
    const last = messages[20];
    if (!last) {
      throw new Error("21 messages");
    }
    const { result, delays } = await deliver(tenant, last.id, carriers.fetch);
    expect(result.retryMessages).toHaveLength(1);
    expect(delays).toEqual([10]);
    expect(carriers.calls.filter((host) => host === "twilio.test")).toHaveLength(20);
    const row = await env.DB.prepare(
      "SELECT status, attempt_count, status_reason FROM messages WHERE id = ?",
    )
      .bind(last.id)
      .first<{ status: string; attempt_count: number; status_reason: string }>();
    expect(row).toMatchObject({ status: "sending", attempt_count: 0 });
    expect(row?.status_reason).toMatch(/circuit open/);
    expect(await attempts(tenant, last.id)).toEqual([]);
  });

  it("keeps test-mode messages on the sandbox whatever the route says", async () => {
    const tenant = await tenantWithFailover();
    const message = outboxMessage(tenant.id, "+8613800138520", { mode: "test" });
    await logMessages(env.DB, [message]);
    const carriers = fakeCarriers(async () => Response.json({ sid: "SMx" }, { status: 201 }));
    await deliver(tenant, message.id, carriers.fetch);
    expect(carriers.calls.filter((host) => host === "twilio.test")).toEqual([]);
    const test = await tenant.addKey(["messages:read"], "test");
    expect(await attempts(tenant, message.id, test.key)).toEqual([["sandbox", "sent"]]);
  });
});
