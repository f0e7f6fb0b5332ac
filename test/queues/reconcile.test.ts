import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { twilio } from "../../src/channels/sms/twilio";
import type { DispatchJob } from "../../src/delivery/payloads";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { consumeDispatch, type DispatchDeps } from "../../src/queues/dispatch";
import { outboxMessage, statusOf } from "../support/messages";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

const SID = `SM${"e5".repeat(16)}`;

afterEach(() => {
  vi.restoreAllMocks();
});

/** A tenant whose Chinese numbers go to Twilio (a fake) only. */
async function tenantOnTwilio(): Promise<TestTenant> {
  const tenant = await createTenant();
  const put = await tenant.api("/v1/providers/twilio", {
    method: "PUT",
    body: JSON.stringify({
      config: {
        account_sid: `AC${"a1".repeat(16)}`,
        from: "+14155550100",
        base_url: "https://twilio.test",
      },
      credentials: { auth_token: "twilio-auth-token-0123456789" },
    }),
  });
  expect(put.status).toBe(201);
  const route = await tenant.api(
    "/v1/routes",
    postJson({ destination: "CN", providers: [{ provider: "twilio", priority: 1 }] }),
  );
  expect(route.status).toBe(201);
  return tenant;
}

type SendAnswer = "accept" | "accept-then-drop" | "drop";

/**
 * A fake Twilio. Each send takes the next of `answers`: accepted and answered, accepted with the
 * connection lost before the answer (the caller hears nothing), or lost before it arrived. Its
 * Messages list (the consumer's lookup) answers from what it accepted, or with `list` if given.
 */
function fakeTwilio(answers: SendAnswer[], list?: () => Response) {
  const accepted: Record<string, string>[] = [];
  let sends = 0;
  let lookups = 0;
  const fetch = async (request: Request) => {
    const url = new URL(request.url);
    if (url.host !== "twilio.test") {
      return new Response("{}");
    }
    if (request.method === "GET") {
      lookups += 1;
      const to = url.searchParams.get("To");
      return list ? list() : Response.json({ messages: accepted.filter((m) => m.to === to) });
    }
    sends += 1;
    const answer = answers.shift();
    if (!answer) {
      throw new Error("Twilio was sent more than the test expected");
    }
    if (answer === "drop") {
      throw new TypeError("Network connection lost.");
    }
    const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
    const sid = `SM${String(accepted.length + 1).padStart(2, "0")}${"e5".repeat(15)}`;
    accepted.push({
      sid: accepted.length === 0 ? SID : sid,
      to: form.get("To") ?? "",
      body: form.get("Body") ?? "",
      direction: "outbound-api",
      date_created: new Date().toUTCString().replace("GMT", "+0000"),
    });
    if (answer === "accept-then-drop") {
      throw new TypeError("Network connection lost.");
    }
    return Response.json({ sid: accepted.at(-1)?.sid, status: "queued" }, { status: 201 });
  };
  return { fetch, accepted, sends: () => sends, lookups: () => lookups };
}

async function deliver(
  tenant: TestTenant,
  messageId: string,
  fetch: DispatchDeps["fetch"],
  attempts: number,
  deps: Partial<DispatchDeps> = {},
) {
  const batch = createMessageBatch<DispatchJob>("relaybox-dispatch", [
    {
      id: `q-${messageId}-${attempts}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts,
      body: { v: 1, tenant_id: tenant.id, message_id: messageId },
    },
  ]);
  const ctx = createExecutionContext();
  await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, { fetch, ...deps });
  return getQueueResult(batch, ctx);
}

async function view(tenant: TestTenant, id: string) {
  const res = await tenant.api(`/v1/messages/${id}`);
  return (await res.json()) as {
    status: string;
    provider_message_id: string | null;
    attempts: { provider: string; outcome: string; reason: string | null }[];
  };
}

/** The warn/error lines the consumer logged, parsed. */
function loggedLines(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.flatMap(([line]) => {
    try {
      return [JSON.parse(String(line)) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe("reconcile before resend", () => {
  it("asks Twilio after no answer, and a message it has is recorded sent, never sent again", async () => {
    const tenant = await tenantOnTwilio();
    const message = outboxMessage(tenant.id, "+8613800139001", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carrier = fakeTwilio(["accept-then-drop"]);

    const first = await deliver(tenant, message.id, carrier.fetch, 1);
    expect(first.retryMessages).toHaveLength(1);
    const second = await deliver(tenant, message.id, carrier.fetch, 2);
    expect(second.explicitAcks).toHaveLength(1);

    expect(carrier.sends()).toBe(1);
    expect(carrier.lookups()).toBe(1);
    expect(carrier.accepted).toHaveLength(1);
    const body = await view(tenant, message.id);
    expect(["sent", "delivered"]).toContain(body.status);
    expect(body.provider_message_id).toBe(SID);
    expect(body.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["twilio", "unknown"],
      ["twilio", "sent"],
    ]);
    expect(body.attempts[1]?.reason).toMatch(/found at twilio by a lookup/);
  });

  it("sends once more when Twilio has no such message, and only once", async () => {
    const tenant = await tenantOnTwilio();
    const message = outboxMessage(tenant.id, "+8613800139002", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carrier = fakeTwilio(["drop", "accept"]);

    await deliver(tenant, message.id, carrier.fetch, 1);
    const second = await deliver(tenant, message.id, carrier.fetch, 2);
    expect(second.explicitAcks).toHaveLength(1);
    // A third copy of the job finds it done.
    await deliver(tenant, message.id, carrier.fetch, 3);

    expect(carrier.lookups()).toBe(1);
    expect(carrier.sends()).toBe(2);
    expect(carrier.accepted).toHaveLength(1);
    expect(["sent", "delivered"]).toContain(await statusOf(message.id));
    expect((await view(tenant, message.id)).provider_message_id).toBe(SID);
  });

  it("sends again as before when the lookup cannot tell, and logs it", async () => {
    const tenant = await tenantOnTwilio();
    const message = outboxMessage(tenant.id, "+8613800139003", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carrier = fakeTwilio(["accept-then-drop", "accept"], () =>
      Response.json({ code: 20500, message: "Internal Server Error" }, { status: 500 }),
    );
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});

    await deliver(tenant, message.id, carrier.fetch, 1);
    await deliver(tenant, message.id, carrier.fetch, 2);

    expect(carrier.lookups()).toBe(1);
    expect(carrier.sends()).toBe(2);
    expect(carrier.accepted).toHaveLength(2);
    expect(loggedLines(spy)).toContainEqual(
      expect.objectContaining({
        level: "warn",
        event: "dispatch: looked up before resending; some could not tell and were sent again",
        found: 0,
        cannot_tell: 1,
        resent_unsure: 1,
        unsure: [
          expect.objectContaining({
            message_id: message.id,
            provider: "twilio",
            outcome: "cannot_tell",
            reason: "Twilio's Messages list answered 500",
          }),
        ],
      }),
    );
  });

  it("sends again as before when the lookup throws, and logs it", async () => {
    const tenant = await tenantOnTwilio();
    const message = outboxMessage(tenant.id, "+8613800139004", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carrier = fakeTwilio(["accept-then-drop", "accept"]);
    const throwing = {
      ...twilio,
      lookup: async () => {
        throw new Error("lookup bug (test)");
      },
    };
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});

    await deliver(tenant, message.id, carrier.fetch, 1, { adapters: { twilio: throwing } });
    await deliver(tenant, message.id, carrier.fetch, 2, { adapters: { twilio: throwing } });

    expect(carrier.sends()).toBe(2);
    expect(["sent", "delivered"]).toContain(await statusOf(message.id));
    expect(loggedLines(spy)).toContainEqual(
      expect.objectContaining({ threw: 1, resent_unsure: 1 }),
    );
  });

  it("two copies of the job redelivered at once after no answer still send once", async () => {
    const tenant = await tenantOnTwilio();
    const message = outboxMessage(tenant.id, "+8613800139005", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carrier = fakeTwilio(["drop", "accept", "accept"]);

    await deliver(tenant, message.id, carrier.fetch, 1);
    const [a, b] = await Promise.all([
      deliver(tenant, message.id, carrier.fetch, 2),
      deliver(tenant, message.id, carrier.fetch, 2),
    ]);

    expect(carrier.accepted).toHaveLength(1);
    expect(carrier.sends()).toBe(2);
    expect(carrier.lookups()).toBe(1);
    expect(a.explicitAcks.length + b.explicitAcks.length).toBe(1);
    expect(a.retryMessages.length + b.retryMessages.length).toBe(1);
    expect(["sent", "delivered"]).toContain(await statusOf(message.id));
  });

  it("does not look anything up for a first attempt", async () => {
    const tenant = await tenantOnTwilio();
    const message = outboxMessage(tenant.id, "+8613800139006", { mode: "live" });
    await logMessages(env.DB, [message]);
    const carrier = fakeTwilio(["accept"]);
    await deliver(tenant, message.id, carrier.fetch, 1);
    expect(carrier.lookups()).toBe(0);
    expect(carrier.sends()).toBe(1);
  });
});
