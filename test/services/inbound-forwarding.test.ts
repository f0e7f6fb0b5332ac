import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { forwardingStage } from "../../src/services/inbound/forwarding-stage";
import { handleInbound } from "../../src/services/inbound/handling";
import { noWait, storeInbound } from "../support/inbound";
import {
  createTenant,
  eventually,
  messageReaches,
  postJson,
  type TestTenant,
} from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";

async function addRule(tenant: TestTenant, rule: Record<string, unknown>): Promise<string> {
  const res = await tenant.api("/v1/forwarding-rules", postJson(rule));
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function attemptsTo(to: string): Promise<{ provider: string; outcome: string }[]> {
  const { results } = await env.DB.prepare(
    `SELECT a.provider, a.outcome FROM message_attempts a JOIN messages m ON m.id = a.message_id
     WHERE m.recipient = ?`,
  )
    .bind(to)
    .all<{ provider: string; outcome: string }>();
  return results;
}

describe("the forwarding stage", () => {
  it("copies a matching message to a phone once, as `[from <number>] <text>`", async () => {
    const tenant = await createTenant();
    const target = "+8613500135123";
    const ruleId = await addRule(tenant, {
      match: "contains",
      keyword: "售后",
      target_type: "phone",
      target,
    });
    await addRule(tenant, {
      match: "prefix",
      keyword: "nothing",
      target_type: "phone",
      target: "+8613500135124",
    });
    const inbound = await storeInbound(tenant.id, { from: "+8613800138456", body: "我要售后服务" });
    const first = await handleInbound(env, inbound, noWait, [forwardingStage]);
    const [copy] = first.forwarded as { rule_id: string; message_id: string }[];
    expect(first.forwarded).toHaveLength(1);
    expect(copy?.rule_id).toBe(ruleId);
    const again = await handleInbound(env, inbound, noWait, [forwardingStage]);
    expect(again.forwarded).toEqual(first.forwarded);

    const done = await messageReaches(tenant, copy?.message_id ?? "", "delivered");
    expect(String(done.body)).toContain("[from +8613800138456] 我要售后服务");
    // The sandbox carrier took it once.
    expect(await attemptsTo(target)).toEqual([{ provider: "sandbox", outcome: "sent" }]);
    expect(await attemptsTo("+8613500135124")).toEqual([]);
  });

  describe("to an endpoint", () => {
    // A stand-in for the tenants' servers, so the worker's webhook consumer never reaches out.
    beforeEach(() => {
      vi.spyOn(globalThis, "fetch").mockImplementation(
        async () => new Response(null, { status: 204 }),
      );
    });
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it("delivers inbound.received to the rule's endpoint even when it is not subscribed, once", async () => {
      const tenant = await createTenant();
      const endpoint = await createEndpoint(tenant, { events: ["message.sent"] });
      const bystander = await createEndpoint(tenant, { events: ["message.sent"] });
      const ruleId = await addRule(tenant, {
        match: "all",
        target_type: "webhook",
        target: endpoint.id,
      });
      const inbound = await storeInbound(tenant.id, { body: "Where is my order?" });
      const first = await handleInbound(env, inbound, noWait, [forwardingStage]);
      expect(first.forwarded).toEqual([
        { rule_id: ruleId, target_type: "webhook", target: endpoint.id, delivered: true },
      ]);
      await handleInbound(env, inbound, noWait, [forwardingStage]);

      const deliveries = await deliveriesOf(endpoint.id);
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]?.event_type).toBe("inbound.received");
      expect(JSON.parse(deliveries[0]?.payload ?? "{}")).toMatchObject({
        type: "inbound.received",
        data: {
          id: inbound.id,
          channel: "sms",
          from: inbound.sender,
          to: inbound.recipient,
          body: "Where is my order?",
          conversation_id: inbound.conversationId,
          received_at: new Date(inbound.receivedAt).toISOString(),
        },
      });
      expect(await deliveriesOf(bystander.id)).toEqual([]);
      // The worker's consumer sends it to the stand-in before the stand-in goes.
      await eventually(async () =>
        (await deliveriesOf(endpoint.id))[0]?.status === "delivered" ? true : undefined,
      );
    });

    it("runs in the default stages after the auto-reply: a message gets its reply and its copy", async () => {
      const tenant = await createTenant();
      const reply = await tenant.api(
        "/v1/auto-replies",
        postJson({
          match: "prefix",
          keyword: "order",
          reply: { type: "text", content: "On its way" },
        }),
      );
      expect(reply.status).toBe(201);
      const ruleId = await addRule(tenant, {
        match: "prefix",
        keyword: "ORDER",
        target_type: "phone",
        target: "+8613500135777",
      });
      const inbound = await storeInbound(tenant.id, { body: "order 1234?" });
      const handling = await handleInbound(env, inbound, noWait);
      expect(handling).toMatchObject({
        auto_reply: { message_id: expect.stringMatching(/^msg_/) },
        forwarded: [{ rule_id: ruleId, message_id: expect.stringMatching(/^msg_/) }],
        done: true,
      });
    });

    it("forwards nothing of another tenant's messages", async () => {
      const tenant = await createTenant();
      const other = await createTenant();
      const endpoint = await createEndpoint(tenant, { events: ["message.sent"] });
      await addRule(tenant, { match: "all", target_type: "webhook", target: endpoint.id });
      const inbound = await storeInbound(other.id, { body: "hello" });
      const handling = await handleInbound(env, inbound, noWait, [forwardingStage]);
      expect(handling.forwarded).toBeUndefined();
      expect(await deliveriesOf(endpoint.id)).toEqual([]);
    });
  });
});
