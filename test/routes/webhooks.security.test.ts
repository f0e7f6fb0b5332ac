import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectProblem } from "../support/problem";
import {
  expectForeignLikeMissing,
  expectNoKeyRefused,
  expectRevokedKeyRefused,
  expectScopeRefused,
  revokedKey,
} from "../support/route-checks";
import { call, createTenant, postJson } from "../support/tenants";
import { createEndpoint, deliveriesOf, emitUnqueued, messageEvent } from "../support/webhooks";

const CREATE = postJson({ url: "https://hooks.example.com/x", events: ["message.sent"] });

/** Every webhooks route for an endpoint (and one of its deliveries). */
function routesFor(endpointId: string, deliveryId: string) {
  return [
    { path: "/v1/webhooks", init: CREATE },
    { path: "/v1/webhooks", init: {} },
    { path: `/v1/webhooks/${endpointId}`, init: {} },
    { path: `/v1/webhooks/${endpointId}/rotate-secret`, init: { method: "POST" } },
    { path: `/v1/webhooks/${endpointId}/deliveries`, init: {} },
    {
      path: `/v1/webhooks/${endpointId}/deliveries/${deliveryId}/replay`,
      init: { method: "POST" },
    },
    { path: `/v1/webhooks/${endpointId}`, init: { method: "DELETE" } },
  ];
}

async function endpointState(endpointId: string) {
  return env.DB.prepare(
    "SELECT url, secret_ciphertext, updated_at FROM webhook_endpoints WHERE id = ?",
  )
    .bind(endpointId)
    .first();
}

/** An endpoint with one delivery, not queued: nothing sends it. */
async function endpointWithDelivery() {
  const tenant = await createTenant();
  const endpoint = await createEndpoint(tenant, { events: ["message.sent"] });
  await emitUnqueued([messageEvent(tenant, "message.sent")]);
  const [delivery] = await deliveriesOf(endpoint.id);
  if (!delivery) {
    throw new Error("no delivery was created");
  }
  return { tenant, endpoint, delivery };
}

describe("webhooks routes security", () => {
  // A stand-in for the tenants' servers, so the worker's consumer never reaches for the network.
  beforeEach(() => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response(null, { status: 204 }),
    );
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    { what: "messages:send", scopes: ["messages:send"] as const },
    { what: "messages:read", scopes: ["messages:read"] as const },
    { what: "both message scopes", scopes: ["messages:send", "messages:read"] as const },
  ])("refuse a key with $what on every route with 403, changing nothing", async ({ scopes }) => {
    const { tenant, endpoint, delivery } = await endpointWithDelivery();
    const limited = await tenant.addKey([...scopes]);
    const before = await endpointState(endpoint.id);
    for (const route of routesFor(endpoint.id, delivery.id)) {
      await expectScopeRefused(limited.key, route, "admin");
    }
    expect(await endpointState(endpoint.id)).toEqual(before);
    const list = (await (await tenant.api("/v1/webhooks")).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
  });

  it("refuse a request without a key with 401 on every route", async () => {
    const missing = `whk_${"0".repeat(26)}`;
    for (const route of routesFor(missing, `whd_${"0".repeat(26)}`)) {
      await expectNoKeyRefused(route);
    }
  });

  it("refuse a revoked admin key on every route", async () => {
    const { tenant, endpoint, delivery } = await endpointWithDelivery();
    const second = await revokedKey(tenant, ["admin"]);
    for (const route of routesFor(endpoint.id, delivery.id)) {
      await expectRevokedKeyRefused(second.key, route);
    }
  });

  it("answer 404 for another tenant's endpoint and delivery, exactly as for missing ones, changing nothing", async () => {
    const { endpoint, delivery } = await endpointWithDelivery();
    const intruder = await createTenant();
    const before = await endpointState(endpoint.id);
    const deliveryBefore = await deliveriesOf(endpoint.id);
    const endpointRoutes = (id: string) => routesFor(id, delivery.id).slice(2);
    for (const [i, { init }] of endpointRoutes(endpoint.id).entries()) {
      const problem = await expectForeignLikeMissing(
        intruder,
        { path: (id) => endpointRoutes(id)[i]?.path ?? "", init },
        { foreign: endpoint.id, missing: `whk_${"0".repeat(26)}` },
      );
      expect(problem.detail).not.toContain(intruder.id);
    }
    expect(await endpointState(endpoint.id)).toEqual(before);
    expect(await deliveriesOf(endpoint.id)).toEqual(deliveryBefore);
    const theirs = (await (await intruder.api("/v1/webhooks")).json()) as { data: unknown[] };
    expect(theirs.data).toEqual([]);
  });

  it("answer 404 for another endpoint's delivery, even within one tenant", async () => {
    const { tenant, delivery } = await endpointWithDelivery();
    const other = await createEndpoint(tenant, { url: "https://hooks.example.com/other" });
    const path = `/v1/webhooks/${other.id}/deliveries/${delivery.id}/replay`;
    await expectProblem(await tenant.api(path, { method: "POST" }), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
  });

  it("never shows a secret outside create and rotate", async () => {
    const { tenant, endpoint } = await endpointWithDelivery();
    for (const path of [
      "/v1/webhooks",
      `/v1/webhooks/${endpoint.id}`,
      `/v1/webhooks/${endpoint.id}/deliveries`,
      "/openapi.json",
    ]) {
      const res = await tenant.api(path);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(endpoint.secret);
      expect(text).not.toContain("secret_ciphertext");
    }
  });
});

describe("the OpenAPI document", () => {
  it("lists every webhooks route", async () => {
    const res = await call("/openapi.json", null);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/v1/webhooks"))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`));
    expect(operations.sort()).toEqual([
      "delete /v1/webhooks/{id}",
      "get /v1/webhooks",
      "get /v1/webhooks/{id}",
      "get /v1/webhooks/{id}/deliveries",
      "post /v1/webhooks",
      "post /v1/webhooks/{id}/deliveries/{delivery_id}/replay",
      "post /v1/webhooks/{id}/rotate-secret",
    ]);
  });
});
