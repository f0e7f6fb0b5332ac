import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Permission } from "../../src/domain/permissions";
import {
  expectForeignLikeMissing,
  expectNoKeyRefused,
  expectScopeRefused,
} from "../support/route-checks";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

const MISSING_ID = `sig_${"0".repeat(26)}`;

async function approved(tenant: TestTenant, name = "Acme"): Promise<string> {
  const res = await tenant.api("/v1/signatures", postJson({ name }));
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  for (const step of ["submit", "approve"]) {
    expect((await tenant.api(`/v1/signatures/${id}/${step}`, { method: "POST" })).status).toBe(200);
  }
  return id;
}

async function shown(tenant: TestTenant, id: string): Promise<unknown> {
  const res = await tenant.api(`/v1/signatures/${id}`);
  expect(res.status).toBe(200);
  return res.json();
}

async function tenantSignature(tenantId: string): Promise<string | null | undefined> {
  const row = await env.DB.prepare("SELECT signature FROM tenants WHERE id = ?")
    .bind(tenantId)
    .first<{ signature: string | null }>();
  return row?.signature;
}

/** Every signatures route, with the scope it needs, for the signature `id`. */
function routes(id: string) {
  const action = (name: string, scope: Permission, init: RequestInit = { method: "POST" }) => ({
    route: `POST /v1/signatures/{id}/${name}`,
    scope,
    path: `/v1/signatures/${id}/${name}`,
    init,
  });
  return [
    {
      route: "POST /v1/signatures",
      scope: "templates:write" as Permission,
      path: "/v1/signatures",
      init: postJson({ name: "Sneaky" }),
    },
    {
      route: "GET /v1/signatures",
      scope: "templates:read" as Permission,
      path: "/v1/signatures",
      init: {},
    },
    {
      route: "GET /v1/signatures/{id}",
      scope: "templates:read" as Permission,
      path: `/v1/signatures/${id}`,
      init: {},
    },
    {
      route: "DELETE /v1/signatures/{id}",
      scope: "templates:write" as Permission,
      path: `/v1/signatures/${id}`,
      init: { method: "DELETE" },
    },
    action("submit", "templates:write"),
    action("approve", "templates:review"),
    action("reject", "templates:review", postJson({ reason: "no" })),
    action("default", "templates:write"),
  ];
}

describe("Signatures routes without a key", () => {
  it.each(routes(MISSING_ID))("$route refuses a request without a key with 401", (route) =>
    expectNoKeyRefused(route),
  );
});

describe("Signatures routes without the needed scope", () => {
  it.each([
    {
      held: ["messages:send"] as Permission[],
      lacks: ["templates:read", "templates:write", "templates:review"],
    },
    { held: ["templates:read"] as Permission[], lacks: ["templates:write", "templates:review"] },
    { held: ["templates:write", "templates:read"] as Permission[], lacks: ["templates:review"] },
  ])(
    "refuse a key with $held on every route needing one of $lacks with 403, changing nothing",
    async ({ held, lacks }) => {
      const tenant = await createTenant();
      const limited = await tenant.addKey(held);
      const id = await approved(tenant);
      const before = await shown(tenant, id);
      for (const { path, init, scope } of routes(id)) {
        if (!lacks.includes(scope)) {
          continue;
        }
        await expectScopeRefused(limited.key, { path, init }, scope);
      }
      expect(await shown(tenant, id)).toEqual(before);
      expect(await tenantSignature(tenant.id)).toBe("【Relaybox】");
    },
  );
});

describe("Signatures across tenants", () => {
  it.each(routes(MISSING_ID).filter(({ path }) => path !== "/v1/signatures"))(
    "$route answers another tenant's signature with a 404 identical to a missing one, changing nothing",
    async ({ path, init }) => {
      const owner = await createTenant();
      const stranger = await createTenant();
      const id = await approved(owner, "Owner");
      const before = await shown(owner, id);

      await expectForeignLikeMissing(
        stranger,
        { path: (someId) => path.replace(MISSING_ID, someId), init },
        { foreign: id, missing: MISSING_ID },
      );
      expect(await shown(owner, id)).toEqual(before);
      expect(await tenantSignature(stranger.id)).toBe("【Relaybox】");
    },
  );

  it("never lists another tenant's signatures, even from their cursor", async () => {
    const owner = await createTenant();
    const theirs = await approved(owner, "Owner");
    const stranger = await createTenant();
    for (const query of [
      "",
      `?cursor=${theirs}`,
      `?cursor=sig_${"Z".repeat(26)}`,
      "?status=approved",
    ]) {
      const page = (await (await stranger.api(`/v1/signatures${query}`)).json()) as {
        data: { id: string }[];
      };
      expect(page.data.map((s) => s.id)).not.toContain(theirs);
    }
  });

  it("lets two tenants each have a signature of the same name", async () => {
    const one = await createTenant();
    const two = await createTenant();
    await approved(one, "Acme");
    await approved(two, "Acme");
  });
});
