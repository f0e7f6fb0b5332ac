import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Caller } from "../../src/domain/caller";
import { decryptSecret } from "../../src/lib/secrets";
import { createWebhookEndpoint } from "../../src/services/webhooks/endpoints";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import {
  createEndpoint,
  deliveriesOf,
  emit,
  emitUnqueued,
  messageEvent,
} from "../support/webhooks";

const SECRET_FORMAT = /^whsec_[0-9A-Za-z]{32}$/;

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  created_at: string;
  updated_at: string;
  secret?: string | null;
}

async function storedSecret(id: string): Promise<string> {
  const row = await env.DB.prepare("SELECT secret_ciphertext FROM webhook_endpoints WHERE id = ?")
    .bind(id)
    .first<{ secret_ciphertext: string }>();
  return decryptSecret(env.MASTER_KEY, "webhook-secret", row?.secret_ciphertext ?? "");
}

/** The tenants' servers: every webhook POST the worker's own consumer makes lands here. */
let answer = 200;
const received: Request[] = [];
beforeEach(() => {
  answer = 200;
  received.length = 0;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    received.push(new Request(input, init));
    return new Response(null, { status: answer });
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("webhook endpoints", () => {
  it("creates an endpoint and shows its signing secret once", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/webhooks",
      postJson({
        url: "https://hooks.example.com/relaybox",
        events: ["message.delivered", "message.failed", "message.delivered"],
        description: "  production  ",
      }),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as Endpoint;
    expect(body).toEqual({
      id: expect.stringMatching(/^whk_[0-9A-Z]{26}$/),
      url: "https://hooks.example.com/relaybox",
      events: ["message.delivered", "message.failed"],
      description: "production",
      created_at: expect.any(String),
      updated_at: body.created_at,
      secret: expect.stringMatching(SECRET_FORMAT),
    });
    // Kept encrypted, never in the clear.
    const raw = await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?")
      .bind(body.id)
      .first();
    expect(JSON.stringify(raw)).not.toContain(body.secret);
    expect(await storedSecret(body.id)).toBe(body.secret);
  });

  it("stores the URL as the parser normalises it", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { url: "HTTPS://Hooks.Example.COM:443/a/../b" });
    expect(endpoint.url).toBe("https://hooks.example.com/b");
  });

  it("replays a creation for the same Idempotency-Key without the secret and creates nothing", async () => {
    const tenant = await createTenant();
    const init = postJson(
      { url: "https://hooks.example.com/x", events: ["message.sent"] },
      { "idempotency-key": "create-hook-1" },
    );
    const first = (await (await tenant.api("/v1/webhooks", init)).json()) as Endpoint;
    expect(first.secret).toMatch(SECRET_FORMAT);
    const again = await tenant.api("/v1/webhooks", init);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual({ ...first, secret: null });
    const list = (await (await tenant.api("/v1/webhooks")).json()) as { data: Endpoint[] };
    expect(list.data.map((e) => e.id)).toEqual([first.id]);
    const record = await env.DB.prepare(
      "SELECT response_body FROM idempotency_records WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .first<{ response_body: string }>();
    expect(record?.response_body).not.toContain(first.secret);
  });

  it("lists endpoints newest first, without secrets, a page at a time", async () => {
    const tenant = await createTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await createEndpoint(tenant, { url: `https://hooks.example.com/${i}` })).id);
      await scheduler.wait(2);
    }
    const first = await tenant.api("/v1/webhooks?limit=2");
    expect(first.status).toBe(200);
    const page = (await first.json()) as { data: Endpoint[]; next_cursor: string | null };
    expect(page.data.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    for (const endpoint of page.data) {
      expect(Object.keys(endpoint).sort()).toEqual([
        "created_at",
        "description",
        "events",
        "id",
        "updated_at",
        "url",
      ]);
    }
    expect(page.next_cursor).toBe(ids[1]);
    const rest = (await (
      await tenant.api(`/v1/webhooks?limit=2&cursor=${page.next_cursor}`)
    ).json()) as {
      data: Endpoint[];
      next_cursor: string | null;
    };
    expect(rest.data.map((e) => e.id)).toEqual([ids[0]]);
    expect(rest.next_cursor).toBeNull();
  });

  it("gets one endpoint", async () => {
    const tenant = await createTenant();
    const created = await createEndpoint(tenant, { description: "billing" });
    const res = await tenant.api(`/v1/webhooks/${created.id}`);
    expect(res.status).toBe(200);
    const { secret: _secret, ...withoutSecret } = created;
    expect(await res.json()).toEqual(withoutSecret);
  });

  it("deletes an endpoint with its deliveries: 204, then 404", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant);
    await emitUnqueued([messageEvent(tenant)]);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
    const res = await tenant.api(`/v1/webhooks/${endpoint.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await tenant.api(`/v1/webhooks/${endpoint.id}`)).status).toBe(404);
    expect(await deliveriesOf(endpoint.id)).toEqual([]);
    // Events after the deletion go nowhere.
    await emit([messageEvent(tenant)]);
    const left = await env.DB.prepare(
      "SELECT count(*) AS n FROM webhook_deliveries WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("rotates the secret: a new one, shown once, in force at once", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant);
    const res = await tenant.api(`/v1/webhooks/${endpoint.id}/rotate-secret`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Endpoint;
    expect(body.id).toBe(endpoint.id);
    expect(body.secret).toMatch(SECRET_FORMAT);
    expect(body.secret).not.toBe(endpoint.secret);
    expect(await storedSecret(endpoint.id)).toBe(body.secret);
    const listed = (await (await tenant.api("/v1/webhooks")).json()) as { data: Endpoint[] };
    expect(listed.data[0]).not.toHaveProperty("secret");
  });

  it("allows http://127.0.0.1:<port> only with the development setting", async () => {
    const tenant = await createTenant();
    const caller = { keyId: tenant.keyId, tenant: { id: tenant.id } } as unknown as Caller;
    const input = { url: "http://127.0.0.1:8080/hooks", events: ["message.sent" as const] };
    const development = { ...env, WEBHOOK_ALLOW_LOCAL_HTTP: "true" };
    const { row } = await createWebhookEndpoint(development, caller, input);
    expect(row.url).toBe("http://127.0.0.1:8080/hooks");
    await expect(createWebhookEndpoint(env, caller, input)).rejects.toThrow(/must use https/);
  });
});

describe("webhook deliveries", () => {
  async function deliveredOnce(tenant: TestTenant) {
    const endpoint = await createEndpoint(tenant, { events: ["message.delivered"] });
    await emit([messageEvent(tenant, "message.delivered", "msg_01M80PXC5AK10HXRNXDFRQCZ7R")]);
    await eventually(async () => {
      const [row] = await deliveriesOf(endpoint.id);
      return row?.status === "delivered" ? row : undefined;
    });
    return endpoint;
  }

  it("lists deliveries newest first, with the event as sent and every attempt", async () => {
    const tenant = await createTenant();
    const endpoint = await deliveredOnce(tenant);
    const res = await tenant.api(`/v1/webhooks/${endpoint.id}/deliveries`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { data: Record<string, unknown>[]; next_cursor: null };
    expect(page.next_cursor).toBeNull();
    expect(page.data).toEqual([
      {
        id: expect.stringMatching(/^whd_[0-9A-Z]{26}$/),
        endpoint_id: endpoint.id,
        event_id: expect.stringMatching(/^evt_[0-9A-Z]{26}$/),
        event_type: "message.delivered",
        status: "delivered",
        attempt_count: 1,
        attempts: [
          { at: expect.any(String), status_code: 200, error: null, latency_ms: expect.any(Number) },
        ],
        next_attempt_at: null,
        event: {
          id: expect.stringMatching(/^evt_/),
          type: "message.delivered",
          created_at: "2026-11-20T08:00:00.000Z",
          data: {
            id: "msg_01M80PXC5AK10HXRNXDFRQCZ7R",
            status: "delivered",
            to: "+8613800138000",
          },
        },
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
    const sent = received.at(-1);
    expect(sent?.headers.get("relaybox-event-id")).toBe(page.data[0]?.event_id);
  });

  it("pages deliveries with a cursor and filters them by status", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { events: ["message.sent"] });
    for (let i = 0; i < 3; i++) {
      await emit([messageEvent(tenant, "message.sent")]);
      await scheduler.wait(2);
    }
    await eventually(async () => {
      const rows = await deliveriesOf(endpoint.id);
      return rows.length === 3 && rows.every((r) => r.status === "delivered") ? true : undefined;
    });
    const ids = (await deliveriesOf(endpoint.id)).map((d) => d.id).reverse();
    const first = (await (
      await tenant.api(`/v1/webhooks/${endpoint.id}/deliveries?limit=2`)
    ).json()) as {
      data: { id: string }[];
      next_cursor: string;
    };
    expect(first.data.map((d) => d.id)).toEqual(ids.slice(0, 2));
    const second = (await (
      await tenant.api(`/v1/webhooks/${endpoint.id}/deliveries?limit=2&cursor=${first.next_cursor}`)
    ).json()) as { data: { id: string }[]; next_cursor: string | null };
    expect(second.data.map((d) => d.id)).toEqual(ids.slice(2));
    expect(second.next_cursor).toBeNull();
    const failed = (await (
      await tenant.api(`/v1/webhooks/${endpoint.id}/deliveries?status=failed`)
    ).json()) as { data: unknown[] };
    expect(failed.data).toEqual([]);
  });

  it("replays a delivery: 202, pending, then delivered again with the same event id", async () => {
    const tenant = await createTenant();
    const endpoint = await deliveredOnce(tenant);
    const [delivery] = await deliveriesOf(endpoint.id);
    const firstEventId = received.at(-1)?.headers.get("relaybox-event-id");
    const res = await tenant.api(`/v1/webhooks/${endpoint.id}/deliveries/${delivery?.id}/replay`, {
      method: "POST",
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; next_attempt_at: string };
    expect(body.id).toBe(delivery?.id);
    expect(body.status).toBe("pending");
    expect(body.next_attempt_at).toEqual(expect.any(String));
    const row = await eventually(async () => {
      const [current] = await deliveriesOf(endpoint.id);
      return current?.attempt_count === 2 ? current : undefined;
    });
    expect(row.status).toBe("delivered");
    expect(received.at(-1)?.headers.get("relaybox-event-id")).toBe(firstEventId);
  });
});
