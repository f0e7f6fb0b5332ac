import { describe, expect, it } from "vitest";
import {
  expectForeignLikeMissing,
  expectNoKeyRefused,
  expectRevokedKeyRefused,
  expectScopeRefused,
  revokedKey,
} from "../support/route-checks";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

const PHONE = "+8613800138444";
const MISSING = "+8613800138445";

async function optedOut(tenant: TestTenant): Promise<string[]> {
  const res = await tenant.api("/v1/opt-outs?limit=100");
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { phone: string }[] }).data.map((o) => o.phone);
}

function routes(phone: string) {
  return [
    {
      route: "GET /v1/opt-outs",
      scope: "inbound:read",
      path: "/v1/opt-outs",
      init: {},
      allowed: 200,
    },
    {
      route: "POST /v1/opt-outs",
      scope: "opt_outs:write",
      path: "/v1/opt-outs",
      init: postJson({ phone: "+8613800138446" }),
      allowed: 201,
    },
    {
      route: "DELETE /v1/opt-outs/{phone}",
      scope: "opt_outs:write",
      path: `/v1/opt-outs/${encodeURIComponent(phone)}`,
      init: { method: "DELETE" },
      allowed: 404,
    },
  ] as const;
}

describe("Opt-out routes without a key or the permission", () => {
  it.each(routes(MISSING))("$route refuses a request without a key with 401", (route) =>
    expectNoKeyRefused(route),
  );

  it("refuse a key with only message scopes on every route with 403, changing nothing", async () => {
    const tenant = await createTenant();
    expect((await tenant.api("/v1/opt-outs", postJson({ phone: PHONE }))).status).toBe(201);
    const limited = await tenant.addKey(["messages:send", "messages:read"]);
    for (const route of routes(PHONE)) {
      await expectScopeRefused(limited.key, route, route.scope);
    }
    expect(await optedOut(tenant)).toEqual([PHONE]);
  });

  it("let an inbound:read key list, and refuse it every change with 403", async () => {
    const tenant = await createTenant();
    const reader = await tenant.addKey(["inbound:read"]);
    for (const route of routes(MISSING)) {
      if (route.scope === "inbound:read") {
        expect((await call(route.path, reader.key, route.init)).status).toBe(route.allowed);
      } else {
        await expectScopeRefused(reader.key, route, route.scope);
      }
    }
  });

  it("let an opt_outs:write key add and remove", async () => {
    const tenant = await createTenant();
    const writer = await tenant.addKey(["opt_outs:write"]);
    for (const route of routes(MISSING)) {
      if (route.scope === "opt_outs:write") {
        expect((await call(route.path, writer.key, route.init)).status).toBe(route.allowed);
      }
    }
  });

  it("refuse a revoked key on every route with 401", async () => {
    const tenant = await createTenant();
    const revoked = await revokedKey(tenant, ["inbound:read", "opt_outs:write"]);
    for (const route of routes(MISSING)) {
      await expectRevokedKeyRefused(revoked.key, route);
    }
  });

  it("refuse a test key every change with 403 (opt-outs apply to live messages too)", async () => {
    const tenant = await createTenant();
    const testKey = await tenant.addKey(["inbound:read", "opt_outs:write"], "test");
    await expectScopeRefused(testKey.key, routes(MISSING)[1]);
    expect(await optedOut(tenant)).toEqual([]);
  });
});

describe("Opt-outs across tenants", () => {
  it("answers removing another tenant's opt-out with a 404 identical to a missing one, and it stays", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    expect((await owner.api("/v1/opt-outs", postJson({ phone: PHONE }))).status).toBe(201);
    await expectForeignLikeMissing(
      stranger,
      {
        path: (phone) => `/v1/opt-outs/${encodeURIComponent(phone)}`,
        init: { method: "DELETE" },
      },
      { foreign: PHONE, missing: MISSING },
    );
    expect(await optedOut(owner)).toEqual([PHONE]);
    expect((await owner.api("/v1/messages", postJson({ to: PHONE, body: "x" }))).status).toBe(422);
  });

  it("never lists another tenant's opt-outs, nor refuses its sends", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    expect((await owner.api("/v1/opt-outs", postJson({ phone: PHONE }))).status).toBe(201);
    expect(await optedOut(stranger)).toEqual([]);
    const filtered = await stranger.api(`/v1/opt-outs?phone=${encodeURIComponent(PHONE)}`);
    expect(((await filtered.json()) as { data: unknown[] }).data).toEqual([]);
    const sent = await stranger.api("/v1/messages", postJson({ to: PHONE, body: "x" }));
    expect(sent.status).toBe(202);
  });
});
