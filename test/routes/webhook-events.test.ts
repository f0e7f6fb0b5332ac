import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { emitMessageEvents, messageEvent } from "../../src/delivery/message-events";
import { createTenant, eventually, messageReaches, postJson } from "../support/tenants";

describe("message events to a tenant's webhook", () => {
  it("records a message.sent and a message.delivered delivery for a subscribed endpoint", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/webhooks",
      postJson({
        url: "https://hooks.example.com/relaybox",
        events: ["message.sent", "message.delivered"],
      }),
    );
    expect(created.status).toBe(201);
    const { id: endpointId } = (await created.json()) as { id: string };
    const res = await tenant.api("/v1/messages", postJson({ to: "+8613800138700", body: "Hi" }));
    const { id } = (await res.json()) as { id: string };
    await messageReaches(tenant, id, "delivered");
    const rows = await eventually(async () => {
      const { results } = await env.DB.prepare(
        "SELECT event_type, payload FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY event_type",
      )
        .bind(endpointId)
        .all<{ event_type: string; payload: string }>();
      return results.length === 2 ? results : undefined;
    });
    expect(rows.map((r) => r.event_type)).toEqual(["message.delivered", "message.sent"]);
    const delivered = JSON.parse(rows[0]?.payload ?? "{}");
    expect(delivered).toMatchObject({
      type: "message.delivered",
      data: { id, status: "delivered", to: "+8613800138700", provider: "sandbox" },
    });
    expect(delivered.id).toMatch(/^evt_/);
    expect(delivered.data.body).toBeUndefined();
  });

  it("records nothing for events the endpoint did not subscribe to", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/failures", events: ["message.failed"] }),
    );
    const { id: endpointId } = (await created.json()) as { id: string };
    const res = await tenant.api("/v1/messages", postJson({ to: "+8613800130000", body: "Hi" }));
    const { id } = (await res.json()) as { id: string };
    await messageReaches(tenant, id, "failed");
    const sent = await tenant.api("/v1/messages", postJson({ to: "+8613800138701", body: "Hi" }));
    await messageReaches(tenant, ((await sent.json()) as { id: string }).id, "delivered");
    const { results } = await env.DB.prepare(
      "SELECT event_type FROM webhook_deliveries WHERE endpoint_id = ?",
    )
      .bind(endpointId)
      .all<{ event_type: string }>();
    expect(results.map((r) => r.event_type)).toEqual(["message.failed"]);
  });
});

describe("emitting message events through a brief D1 failure", () => {
  it("tries again, so the event is not lost", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/flaky", events: ["message.failed"] }),
    );
    const { id: endpointId } = (await created.json()) as { id: string };
    let failures = 1;
    const flakyDb = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch" && failures > 0) {
          return async () => {
            failures -= 1;
            throw new Error("D1_ERROR: Network connection lost.");
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const sent: unknown[] = [];
    const queue = { sendBatch: async (jobs: Iterable<unknown>) => void sent.push(...jobs) };
    const id = `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 26).toUpperCase()}`;
    await emitMessageEvents({ ...env, DB: flakyDb, WEBHOOK_QUEUE: queue } as unknown as Env, [
      messageEvent(
        {
          id,
          tenantId: tenant.id,
          channel: "sms",
          recipient: "+8613800138702",
          segments: 1,
          encoding: "GSM-7",
          costMicros: 0,
          batchId: null,
          templateId: null,
          metadata: null,
          createdAt: Date.now(),
        },
        {
          status: "failed",
          reason: "test",
          provider: null,
          providerMessageId: null,
          at: Date.now(),
        },
      ),
    ]);
    expect(failures).toBe(0);
    const row = await env.DB.prepare(
      "SELECT event_type FROM webhook_deliveries WHERE endpoint_id = ?",
    )
      .bind(endpointId)
      .first<{ event_type: string }>();
    expect(row?.event_type).toBe("message.failed");
    expect(sent).toHaveLength(1);
  });
});
