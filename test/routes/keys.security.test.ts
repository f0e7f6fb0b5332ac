import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import {
  expectForeignLikeMissing,
  expectNoKeyRefused,
  expectRevokedKeyRefused,
  expectScopeRefused,
  revokedKey,
} from "../support/route-checks";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

async function keyIds(tenant: TestTenant): Promise<string[]> {
  const res = await tenant.api("/v1/keys?limit=100");
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((k) => k.id);
}

/** Each key's name and limit, which a refused PATCH must leave as they were. */
async function keyDetails(tenant: TestTenant): Promise<unknown[]> {
  const res = await tenant.api("/v1/keys?limit=100");
  expect(res.status).toBe(200);
  const page = (await res.json()) as { data: { id: string; name: string; rate_limit: unknown }[] };
  return page.data.map(({ id, name, rate_limit }) => ({ id, name, rate_limit }));
}

const CREATE = postJson({ name: "sneaky", scopes: ["admin"] });
const PATCH = {
  method: "PATCH",
  body: JSON.stringify({ name: "mine now", rate_limit: { per_second: 100_000 } }),
};

describe("API keys routes without the admin scope", () => {
  it.each([
    { what: "messages:send", scopes: ["messages:send"] as const },
    { what: "messages:read", scopes: ["messages:read"] as const },
    { what: "both message scopes", scopes: ["messages:send", "messages:read"] as const },
  ])("refuse a key with $what on every route with 403, changing nothing", async ({ scopes }) => {
    const tenant = await createTenant();
    const limited = await tenant.addKey([...scopes]);
    const before = await keyIds(tenant);
    const details = await keyDetails(tenant);

    const routes = [
      { path: "/v1/keys", init: CREATE },
      { path: "/v1/keys", init: {} },
      { path: `/v1/keys/${tenant.keyId}`, init: { method: "DELETE" } },
      { path: `/v1/keys/${limited.id}`, init: { method: "DELETE" } },
      { path: `/v1/keys/${tenant.keyId}`, init: PATCH },
      { path: `/v1/keys/${limited.id}`, init: PATCH },
    ];
    for (const route of routes) {
      await expectScopeRefused(limited.key, route, "admin");
    }

    expect(await keyIds(tenant)).toEqual(before);
    const page = (await (await tenant.api("/v1/keys")).json()) as {
      data: { revoked_at: string | null }[];
    };
    expect(page.data.every((k) => k.revoked_at === null)).toBe(true);
    expect(await keyDetails(tenant)).toEqual(details);
    expect((await tenant.api("/v1/keys")).status).toBe(200);
  });

  it.each([
    { route: "POST /v1/keys", path: "/v1/keys", init: CREATE },
    { route: "GET /v1/keys", path: "/v1/keys", init: {} },
    {
      route: "DELETE /v1/keys/{id}",
      path: `/v1/keys/key_${"0".repeat(26)}`,
      init: { method: "DELETE" },
    },
    { route: "PATCH /v1/keys/{id}", path: `/v1/keys/key_${"0".repeat(26)}`, init: PATCH },
  ])("$route refuses a request without a key with 401", (route) => expectNoKeyRefused(route));

  it("refuses a revoked admin key on every keys route", async () => {
    const tenant = await createTenant();
    const second = await revokedKey(tenant, ["admin"]);

    for (const init of [CREATE, {}]) {
      await expectRevokedKeyRefused(second.key, { path: "/v1/keys", init });
    }
    await expectRevokedKeyRefused(second.key, {
      path: `/v1/keys/${tenant.keyId}`,
      init: { method: "DELETE" },
    });
    const details = await keyDetails(tenant);
    for (const id of [tenant.keyId, second.id]) {
      await expectRevokedKeyRefused(second.key, { path: `/v1/keys/${id}`, init: PATCH });
    }
    expect(await keyDetails(tenant)).toEqual(details);
    expect((await tenant.api("/v1/keys")).status).toBe(200);
  });
});

describe("API keys across tenants", () => {
  it("answers revoking another tenant's key with a 404 identical to a missing one, and the key keeps working", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const missingId = `key_${"0".repeat(26)}`;

    await expectForeignLikeMissing(
      stranger,
      { path: (id) => `/v1/keys/${id}`, init: { method: "DELETE" } },
      { foreign: owner.keyId, missing: missingId },
    );

    expect((await owner.api("/v1/keys")).status).toBe(200);
    const listed = (await (await owner.api("/v1/keys")).json()) as {
      data: { id: string; revoked_at: string | null }[];
    };
    expect(listed.data.find((k) => k.id === owner.keyId)?.revoked_at).toBeNull();
  });

  it("answers changing another tenant's key with a 404 identical to a missing one, changing nothing", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const before = await keyDetails(owner);
    const missingId = `key_${"0".repeat(26)}`;

    await expectForeignLikeMissing(
      stranger,
      { path: (id) => `/v1/keys/${id}`, init: PATCH },
      { foreign: owner.keyId, missing: missingId },
    );
    expect(await keyDetails(owner)).toEqual(before);
  });

  it("answers 404, not 409, for another tenant's revoked key", async () => {
    const owner = await createTenant();
    const revoked = await owner.addKey(["messages:read"]);
    expect((await owner.api(`/v1/keys/${revoked.id}`, { method: "DELETE" })).status).toBe(204);
    const stranger = await createTenant();
    const res = await stranger.api(`/v1/keys/${revoked.id}`, PATCH);
    await expectProblem(res, {
      status: 404,
      slug: "not-found",
      instance: `/v1/keys/${revoked.id}`,
    });
  });

  it("never lists another tenant's keys, even from their cursor", async () => {
    const owner = await createTenant();
    const extra = await owner.addKey(["messages:read"]);
    const stranger = await createTenant();

    expect(await keyIds(stranger)).toEqual([stranger.keyId]);
    for (const cursor of [owner.keyId, extra.id, `key_${"Z".repeat(26)}`]) {
      const res = await stranger.api(`/v1/keys?cursor=${cursor}`);
      const page = (await res.json()) as { data: { id: string }[] };
      expect(page.data.map((k) => k.id)).not.toContain(owner.keyId);
      expect(page.data.map((k) => k.id)).not.toContain(extra.id);
    }
  });

  it("gives a key created by one tenant no access to another tenant's messages", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const sent = await owner.api(
      "/v1/messages",
      postJson({ to: "+8613800138000", body: "private" }),
    );
    const { id } = (await sent.json()) as { id: string };

    const created = await stranger.api(
      "/v1/keys",
      postJson({ name: "reader", scopes: ["messages:read"] }),
    );
    const { key } = (await created.json()) as { key: string };
    expect((await call(`/v1/messages/${id}`, key)).status).toBe(404);
  });
});
