/**
 * Test keys (`rbx_test_…`), as test mode is elsewhere: they reach only test-mode messages, batches,
 * their events and test keys, and may read the account's configuration but never change it.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, messageReaches, postJson } from "../support/tenants";

interface Operation {
  method: string;
  path: string;
  /** The document lists a required query parameter (a bare call is a 400). */
  needsQuery: boolean;
}

/** Every operation of the OpenAPI document that takes an API key. */
async function keyedOperations(): Promise<Operation[]> {
  const res = await call("/openapi.json", null);
  const doc = (await res.json()) as {
    paths: Record<
      string,
      Record<
        string,
        {
          security?: Record<string, unknown>[];
          parameters?: { in: string; required?: boolean }[];
        }
      >
    >;
  };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, operation]) => operation.security?.some((s) => "bearerAuth" in s))
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        needsQuery: (operation.parameters ?? []).some((p) => p.in === "query" && p.required),
      })),
  );
}

/** The operation's path with made-up ids: a refusal for the key's mode must come before any look-up. */
const concrete = (path: string) => path.replaceAll(/\{[^}]+\}/g, "x");

const label = (op: Operation) => `${op.method} ${op.path}`;

/** The only operations that change something open to a test key: its own mode's data, or nothing. */
const OPEN_TO_TEST_KEYS = [
  "DELETE /v1/keys/{id}",
  "DELETE /v1/messages/{id}/body",
  "PATCH /v1/keys/{id}",
  "POST /v1/batches",
  "POST /v1/batches/{id}/cancel",
  "POST /v1/conversations/{id}/messages",
  "POST /v1/conversations/{id}/reply",
  "POST /v1/keys",
  "POST /v1/messages",
  "POST /v1/messages/preview",
  "POST /v1/messages/{id}/cancel",
  "POST /v1/sensitive-words/check",
  "POST /v1/sandbox/wechat/{app_id}/messages",
  "POST /v1/sandbox/wechat/{app_id}/scan",
  "PUT /v1/sandbox/wechat/{app_id}/settings",
  "POST /v1/webhooks/{id}/deliveries/{delivery_id}/replay",
  "POST /v1/verifications",
  "POST /v1/verifications/check",
  "POST /v1/verifications/{id}/cancel",
];

const TEST_MODE_REFUSAL =
  /^Test keys cannot change configuration; use a live key \(rbx_live_…\)\.$/;

describe("a test key, on every route of the API", () => {
  it("is refused every change of configuration with a 403 naming test mode, which a live key is not", async () => {
    const tenant = await createTenant();
    const test = await tenant.addKey(["admin"], "test");
    const live = await tenant.addKey(["admin"], "live");
    const changes = (await keyedOperations()).filter((op) => op.method !== "GET");
    expect(changes.length).toBeGreaterThan(40);
    const open: string[] = [];
    for (const op of changes) {
      const path = concrete(op.path);
      const init = { method: op.method, body: "{}" };
      const res = await call(path, test.key, init);
      if (res.status !== 403) {
        open.push(label(op));
        continue;
      }
      await expectProblem(res, {
        status: 403,
        slug: "forbidden",
        instance: path,
        detail: TEST_MODE_REFUSAL,
      });
      const asLive = await call(path, live.key, init);
      expect(asLive.status, `${label(op)} with a live key`).not.toBe(403);
    }
    expect(open.sort()).toEqual([...OPEN_TO_TEST_KEYS].sort());
  });

  it("reads every resource", async () => {
    const tenant = await createTenant();
    const test = await tenant.addKey(["admin"], "test");
    const reads = (await keyedOperations()).filter((op) => op.method === "GET");
    expect(reads.length).toBeGreaterThan(15);
    for (const op of reads) {
      const res = await call(concrete(op.path), test.key);
      if (op.path.includes("{") || op.needsQuery) {
        // Made-up ids or missing required parameters: not found or not valid, never refused for
        // the key's mode.
        expect([200, 400, 404], label(op)).toContain(res.status);
      } else {
        expect(res.status, label(op)).toBe(200);
      }
    }
  });
});

describe("a test key and live configuration", () => {
  it("cannot replace a provider, change a route or the tenant's settings, and nothing changes", async () => {
    const tenant = await createTenant();
    const test = await tenant.addKey(["admin"], "test");
    const before = await (await tenant.api("/v1/tenant")).json();
    const attempts = [
      {
        path: "/v1/providers/twilio",
        init: {
          method: "PUT",
          body: JSON.stringify({
            config: { account_sid: `AC${"0".repeat(32)}`, from: "+14155550100" },
            credentials: { auth_token: "0".repeat(32) },
          }),
        },
      },
      {
        path: "/v1/routes",
        init: postJson({ destination: "CN", providers: [{ provider: "sandbox", priority: 1 }] }),
      },
      { path: "/v1/tenant", init: { method: "PATCH", body: JSON.stringify({ send_rate: 0 }) } },
    ];
    for (const { path, init } of attempts) {
      await expectProblem(await call(path, test.key, init), {
        status: 403,
        slug: "forbidden",
        instance: path,
        detail: TEST_MODE_REFUSAL,
      });
    }
    const providers = (await (await call("/v1/providers", test.key)).json()) as {
      data: { provider: string }[];
    };
    expect(providers.data.map((p) => p.provider)).toEqual(["sandbox"]);
    const routes = (await (await call("/v1/routes", test.key)).json()) as { data: unknown[] };
    expect(routes.data).toEqual([]);
    expect(await (await call("/v1/tenant", test.key)).json()).toEqual(before);
  });
});

describe("a test key and live keys", () => {
  it("cannot revoke or change a live key: a 404, and the live key keeps working", async () => {
    const tenant = await createTenant();
    const live = await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const path = `/v1/keys/${live.id}`;
    await expectProblem(await call(path, test.key, { method: "DELETE" }), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
    await expectProblem(
      await call(path, test.key, { method: "PATCH", body: JSON.stringify({ name: "mine" }) }),
      { status: 404, slug: "not-found", instance: path },
    );
    const stillLive = await call("/v1/tenant", live.key);
    expect(stillLive.status).toBe(200);
    const keys = (await (await call("/v1/keys?limit=100", live.key)).json()) as {
      data: { id: string; name: string; revoked_at: string | null }[];
    };
    expect(keys.data.find((k) => k.id === live.id)).toMatchObject({ revoked_at: null });
  });

  it("lists only test keys, and creates and revokes test keys", async () => {
    const tenant = await createTenant();
    await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const created = await call("/v1/keys", test.key, postJson({ name: "ci", scopes: ["admin"] }));
    expect(created.status).toBe(201);
    const { id, mode } = (await created.json()) as { id: string; mode: string };
    expect(mode).toBe("test");
    const listed = (await (await call("/v1/keys?limit=100", test.key)).json()) as {
      data: { id: string; mode: string }[];
    };
    expect(listed.data.length).toBeGreaterThanOrEqual(2);
    expect(listed.data.every((k) => k.mode === "test")).toBe(true);
    expect((await call(`/v1/keys/${id}`, test.key, { method: "DELETE" })).status).toBe(204);
  });
});

describe("test-mode and live messages are kept apart", () => {
  const later = () => new Date(Date.now() + 3_600_000).toISOString();

  it("a test key cannot read, list or cancel a live message: a 404", async () => {
    const tenant = await createTenant();
    const live = await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const sent = await call(
      "/v1/messages",
      live.key,
      postJson({ to: "+8613800138800", body: "live", send_at: later() }),
    );
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    const path = `/v1/messages/${id}`;
    await expectProblem(await call(path, test.key), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
    await expectProblem(await call(`${path}/cancel`, test.key, { method: "POST" }), {
      status: 404,
      slug: "not-found",
      instance: `${path}/cancel`,
    });
    // Once in the send log too.
    await eventually(async () => {
      const row = await env.DB.prepare("SELECT id FROM messages WHERE id = ?").bind(id).first();
      return row ?? undefined;
    });
    expect((await call(path, test.key)).status).toBe(404);
    const list = (await (await call("/v1/messages", test.key)).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    const mine = (await (await call(path, live.key)).json()) as { status: string; mode: string };
    expect(mine).toMatchObject({ status: "scheduled", mode: "live" });
  });

  it("a test key sends, lists, reads and cancels its own messages, which a live key does not see", async () => {
    const tenant = await createTenant();
    const live = await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const sent = await call(
      "/v1/messages",
      test.key,
      postJson({ to: "+8613800138801", body: "test", send_at: later() }),
    );
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    const path = `/v1/messages/${id}`;
    // Listed once in the send log (the dispatcher writes it there in the background).
    await eventually(async () => {
      const listed = (await (await call("/v1/messages", test.key)).json()) as {
        data: { id: string }[];
      };
      return listed.data.some((m) => m.id === id) ? true : undefined;
    });
    expect((await call(path, test.key)).status).toBe(200);
    await expectProblem(await call(path, live.key), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
    const liveList = (await (await call("/v1/messages", live.key)).json()) as { data: unknown[] };
    expect(liveList.data).toEqual([]);
    const canceled = await call(`${path}/cancel`, test.key, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ id, status: "canceled", mode: "test" });
  });

  it("a test key cannot read, list or cancel a live batch, and a live key not a test one", async () => {
    const tenant = await createTenant();
    const live = await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const batch = (key: string) =>
      call(
        "/v1/batches",
        key,
        postJson({ body: "Hi", send_at: later(), recipients: [{ to: "+8613800138802" }] }),
      );
    const liveBatch = (await (await batch(live.key)).json()) as { id: string };
    const testBatch = (await (await batch(test.key)).json()) as { id: string };
    const pairs = [
      [test.key, liveBatch.id, testBatch.id],
      [live.key, testBatch.id, liveBatch.id],
    ] as const;
    for (const [key, theirs] of pairs) {
      const path = `/v1/batches/${theirs}`;
      await expectProblem(await call(path, key), {
        status: 404,
        slug: "not-found",
        instance: path,
      });
      await expectProblem(await call(`${path}/cancel`, key, { method: "POST" }), {
        status: 404,
        slug: "not-found",
        instance: `${path}/cancel`,
      });
    }
    // Once the dispatcher has written them to D1 (where lists come from) as well.
    await eventually(async () => {
      const { results } = await env.DB.prepare("SELECT id FROM batches WHERE tenant_id = ?")
        .bind(tenant.id)
        .all();
      return results.length === 2 ? results : undefined;
    });
    for (const [key, theirs, mine] of pairs) {
      expect((await call(`/v1/batches/${theirs}`, key)).status).toBe(404);
      const list = (await (await call("/v1/batches", key)).json()) as { data: { id: string }[] };
      expect(list.data.map((b) => b.id)).toEqual([mine]);
    }
    const liveView = (await (await call(`/v1/batches/${liveBatch.id}`, live.key)).json()) as {
      canceled_at: string | null;
    };
    expect(liveView.canceled_at).toBeNull();
  });

  it("a test key sees only its own messages' webhook events, and a live key only live ones", async () => {
    const tenant = await createTenant();
    const live = await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const endpoint = await call(
      "/v1/webhooks",
      live.key,
      postJson({ url: "https://hooks.example.com/relaybox", events: ["message.delivered"] }),
    );
    expect(endpoint.status).toBe(201);
    const { id: endpointId } = (await endpoint.json()) as { id: string };
    const send = async (key: string, to: string) => {
      const res = await call("/v1/messages", key, postJson({ to, body: "Hi" }));
      return ((await res.json()) as { id: string }).id;
    };
    const liveId = await send(live.key, "+8613800138803");
    const testId = await send(test.key, "+8613800138804");
    await messageReaches({ ...tenant, api: (p, init) => call(p, live.key, init) }, liveId);
    await messageReaches({ ...tenant, api: (p, init) => call(p, test.key, init) }, testId);
    await eventually(async () => {
      const { results } = await env.DB.prepare(
        "SELECT id FROM webhook_deliveries WHERE endpoint_id = ?",
      )
        .bind(endpointId)
        .all();
      return results.length === 2 ? results : undefined;
    });
    const eventsFor = async (key: string) => {
      const res = await call(`/v1/webhooks/${endpointId}/deliveries`, key);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: { event: { data: { id: string } } }[] };
      return page.data.map((d) => d.event.data.id);
    };
    expect(await eventsFor(test.key)).toEqual([testId]);
    expect(await eventsFor(live.key)).toEqual([liveId]);
  });

  it("each key replays its own mode's webhook deliveries, and the other mode's are a 404 to it", async () => {
    const tenant = await createTenant();
    const live = await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const endpoint = await call(
      "/v1/webhooks",
      live.key,
      postJson({ url: "https://hooks.example.com/relaybox", events: ["message.delivered"] }),
    );
    const { id: endpointId } = (await endpoint.json()) as { id: string };
    for (const [key, to] of [
      [live.key, "+8613800138807"],
      [test.key, "+8613800138808"],
    ] as const) {
      const res = await call("/v1/messages", key, postJson({ to, body: "Hi" }));
      const { id } = (await res.json()) as { id: string };
      await messageReaches({ ...tenant, api: (p, init) => call(p, key, init) }, id);
    }
    const deliveryOf = async (key: string) =>
      eventually(async () => {
        const page = (await (await call(`/v1/webhooks/${endpointId}/deliveries`, key)).json()) as {
          data: { id: string }[];
        };
        return page.data[0]?.id;
      });
    const pairs = [
      [test.key, await deliveryOf(test.key), await deliveryOf(live.key)],
      [live.key, await deliveryOf(live.key), await deliveryOf(test.key)],
    ] as const;
    for (const [key, mine, theirs] of pairs) {
      const replay = (id: string) => `/v1/webhooks/${endpointId}/deliveries/${id}/replay`;
      const replayed = await call(replay(mine), key, { method: "POST" });
      expect(replayed.status).toBe(202);
      expect(await replayed.json()).toMatchObject({ id: mine, status: "pending" });
      await expectProblem(await call(replay(theirs), key, { method: "POST" }), {
        status: 404,
        slug: "not-found",
        instance: replay(theirs),
      });
    }
  });
});

describe("an Idempotency-Key used with both a live and a test key", () => {
  it("is two keys: neither mode replays the other's message, batch or key", async () => {
    const tenant = await createTenant();
    const live = await tenant.addKey(["admin"], "live");
    const test = await tenant.addKey(["admin"], "test");
    const creates = [
      { path: "/v1/messages", body: { to: "+8613800138805", body: "Hi" } },
      { path: "/v1/batches", body: { body: "Hi", recipients: [{ to: "+8613800138806" }] } },
      { path: "/v1/keys", body: { name: "ci", scopes: ["messages:send"], mode: "test" } },
    ];
    for (const { path, body } of creates) {
      const headers = { "idempotency-key": `shared-${path}` };
      const first = await call(path, test.key, postJson(body, headers));
      const second = await call(path, live.key, postJson(body, headers));
      expect([201, 202], path).toContain(first.status);
      expect(second.status, path).toBe(first.status);
      expect(second.headers.get("idempotent-replayed"), path).toBeNull();
      const [a, b] = [
        (await first.json()) as { id: string },
        (await second.json()) as { id: string },
      ];
      expect(b.id, path).not.toBe(a.id);
      const again = await call(path, live.key, postJson(body, headers));
      expect(again.headers.get("idempotent-replayed"), path).toBe("true");
      expect(((await again.json()) as { id: string }).id, path).toBe(b.id);
    }
  });
});
