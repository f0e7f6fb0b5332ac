import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { expectNothingStored, listIds } from "../support/send-log";
import { call, createTenant, messageReaches, postJson } from "../support/tenants";

const SEND = postJson({ to: "+8613800138000", body: "Hello" });
const SOME_ID = `msg_${"0".repeat(26)}`;
const ROUTES = [
  { route: "POST /v1/messages", path: "/v1/messages", init: SEND },
  { route: "GET /v1/messages", path: "/v1/messages", init: {} },
  { route: "GET /v1/messages/{id}", path: `/v1/messages/${SOME_ID}`, init: {} },
];

describe("messages API authentication", () => {
  it.each(ROUTES)(
    "answers $route without a key with 401 and a Bearer challenge",
    async ({ path, init }) => {
      const res = await call(path, null, init);
      await expectProblem(res, {
        status: 401,
        slug: "unauthenticated",
        instance: path,
        detail: /Authorization: Bearer/,
      });
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="relaybox"');
    },
  );

  it.each([
    { what: "another auth scheme", header: "Basic dXNlcjpwYXNzd29yZA==" },
    { what: "a bearer with no key", header: "Bearer " },
  ])("refuses $what with 401 asking for a bearer key", async ({ header }) => {
    const res = await call("/v1/messages", null, { headers: { authorization: header } });
    await expectProblem(res, {
      status: 401,
      slug: "unauthenticated",
      instance: "/v1/messages",
    });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="relaybox"');
  });

  it.each([
    { what: "a malformed key", key: "not-a-relaybox-key" },
    { what: "a key of the wrong length", key: `rbx_live_${"A".repeat(31)}` },
    { what: "a well-formed key that does not exist", key: `rbx_live_${"A".repeat(32)}` },
    { what: "a well-formed test key that does not exist", key: `rbx_test_${"z".repeat(32)}` },
  ])("refuses $what with 401 invalid_token", async ({ key }) => {
    const res = await call("/v1/messages", key);
    await expectProblem(res, {
      status: 401,
      slug: "unauthenticated",
      instance: "/v1/messages",
      detail: /not valid/,
    });
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="relaybox", error="invalid_token"',
    );
  });

  it("refuses a real key with something appended to it", async () => {
    const tenant = await createTenant();
    const res = await call("/v1/messages", `${tenant.key}x`);
    await expectProblem(res, { status: 401, slug: "unauthenticated", instance: "/v1/messages" });
  });

  it("refuses a revoked key with 401 on every route, and it sends nothing", async () => {
    const tenant = await createTenant();
    const worker = await tenant.addKey(["messages:send", "messages:read"]);
    expect((await call("/v1/messages", worker.key)).status).toBe(200);

    const revoked = await tenant.api(`/v1/keys/${worker.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);

    for (const { path, init } of ROUTES) {
      const res = await call(path, worker.key, init);
      await expectProblem(res, {
        status: 401,
        slug: "unauthenticated",
        instance: path,
        detail: /revoked/,
      });
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
    await expectNothingStored(tenant);
  });
});

describe("messages API scopes", () => {
  it("refuses to send with a key that only has messages:read, and sends nothing", async () => {
    const tenant = await createTenant();
    const reader = await tenant.addKey(["messages:read"]);
    expect((await call("/v1/messages", reader.key)).status).toBe(200);

    const res = await call("/v1/messages", reader.key, SEND);
    await expectProblem(res, {
      status: 403,
      slug: "forbidden",
      instance: "/v1/messages",
      detail: /messages:send/,
    });
    await expectNothingStored(tenant);
  });

  it("refuses to read with a key that only has messages:send", async () => {
    const tenant = await createTenant();
    const sender = await tenant.addKey(["messages:send"]);
    const sent = await call("/v1/messages", sender.key, SEND);
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };

    for (const path of ["/v1/messages", `/v1/messages/${id}`]) {
      const res = await call(path, sender.key);
      await expectProblem(res, {
        status: 403,
        slug: "forbidden",
        instance: path,
        detail: /messages:read/,
      });
    }
  });
});

describe("messages API tenant isolation", () => {
  it("answers another tenant's message id with a 404 identical to a missing one", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const sent = await owner.api("/v1/messages", SEND);
    const { id } = (await sent.json()) as { id: string };

    const missing = await expectProblem(await stranger.api(`/v1/messages/${SOME_ID}`), {
      status: 404,
      slug: "not-found",
      instance: `/v1/messages/${SOME_ID}`,
    });
    const expectSameAsMissing = async () => {
      const res = await stranger.api(`/v1/messages/${id}`);
      const problem = await expectProblem(res, {
        status: 404,
        slug: "not-found",
        instance: `/v1/messages/${id}`,
      });
      expect({ ...problem, detail: problem.detail.replace(id, "<id>") }).toEqual({
        ...missing,
        detail: missing.detail.replace(SOME_ID, "<id>"),
        instance: `/v1/messages/${id}`,
        request_id: problem.request_id,
      });
    };

    // Still only in the owner's dispatcher, then in the D1 send log.
    await expectSameAsMissing();
    await messageReaches(owner, id, "delivered");
    await expectSameAsMissing();
    expect((await owner.api(`/v1/messages/${id}`)).status).toBe(200);
  });

  it("never lists another tenant's messages, whatever the filter", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const sent = await owner.api("/v1/messages", postJson({ to: "+8613800138055", body: "mine" }));
    const { id } = (await sent.json()) as { id: string };
    await messageReaches(owner, id, "delivered");
    expect(await listIds(owner)).toEqual([id]);

    for (const query of ["", "?to=%2B8613800138055", "?status=delivered", "?limit=100"]) {
      expect(await listIds(stranger, query)).toEqual([]);
    }
  });

  it("keeps Idempotency-Keys per tenant: the same key elsewhere sends a new message", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const init = postJson({ to: "+8613800138000", body: "Hello" }, { "idempotency-key": "k-1" });
    const first = await owner.api("/v1/messages", init);
    const second = await stranger.api("/v1/messages", init);
    expect(second.status).toBe(202);
    expect(second.headers.get("idempotent-replayed")).toBeNull();
    const a = (await first.json()) as { id: string };
    const b = (await second.json()) as { id: string };
    expect(b.id).not.toBe(a.id);
  });
});
