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

async function createRole(tenant: TestTenant, name: string): Promise<string> {
  const res = await tenant.api("/v1/roles", postJson({ name, permissions: ["messages:read"] }));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const CREATE = postJson({ name: "mine", permissions: ["messages:read"] });

describe("/v1/roles security", () => {
  it("refuses no key and a revoked key", async () => {
    const tenant = await createTenant();
    const revoked = await revokedKey(tenant, ["admin"]);
    for (const request of [{ path: "/v1/roles" }, { path: "/v1/roles", init: CREATE }]) {
      await expectNoKeyRefused(request);
      await expectRevokedKeyRefused(revoked.key, request);
    }
  });

  it("needs users:read to read and users:write to change", async () => {
    const tenant = await createTenant();
    const id = await createRole(tenant, "existing");
    const reader = await tenant.addKey(["users:read"]);
    const other = await tenant.addKey(["messages:send", "messages:read"]);
    for (const path of ["/v1/roles", `/v1/roles/${id}`, "/v1/permissions"]) {
      await expectScopeRefused(other.key, { path }, "users:read");
      expect((await call(path, reader.key)).status).toBe(200);
    }
    const changes: { path: string; init: RequestInit }[] = [
      { path: "/v1/roles", init: CREATE },
      { path: `/v1/roles/${id}`, init: { method: "PATCH", body: '{"name":"x"}' } },
      { path: `/v1/roles/${id}`, init: { method: "DELETE" } },
    ];
    for (const request of changes) {
      await expectScopeRefused(reader.key, request, "users:write");
    }
    expect((await tenant.api(`/v1/roles/${id}`)).status).toBe(200);
  });

  it("lets a caller grant only permissions it holds itself", async () => {
    const tenant = await createTenant();
    const manager = await tenant.addKey(["users:read", "users:write", "messages:read"]);
    await expectProblem(
      await call(
        "/v1/roles",
        manager.key,
        postJson({ name: "up", permissions: ["messages:read", "admin"] }),
      ),
      { status: 403, slug: "forbidden", instance: "/v1/roles", detail: /`admin`/ },
    );
    const ok = await call(
      "/v1/roles",
      manager.key,
      postJson({ name: "mine", permissions: ["messages:read", "users:read"] }),
    );
    expect(ok.status).toBe(201);
    const { id } = (await ok.json()) as { id: string };
    await expectProblem(
      await call(`/v1/roles/${id}`, manager.key, {
        method: "PATCH",
        body: JSON.stringify({ permissions: ["messages:send"] }),
      }),
      { status: 403, slug: "forbidden", instance: `/v1/roles/${id}`, detail: /`messages:send`/ },
    );
    // A role made by an admin with more than the manager holds cannot be edited by the manager.
    const wide = await createRole(tenant, "wide");
    await tenant.api(`/v1/roles/${wide}`, {
      method: "PATCH",
      body: JSON.stringify({ permissions: ["templates:review"] }),
    });
    await expectProblem(
      await call(`/v1/roles/${wide}`, manager.key, {
        method: "PATCH",
        body: JSON.stringify({ name: "renamed" }),
      }),
      { status: 403, slug: "forbidden", instance: `/v1/roles/${wide}` },
    );
  });

  it("refuses test keys' changes (roles are configuration) but lets them read", async () => {
    const tenant = await createTenant();
    const test = await tenant.addKey(["admin"], "test");
    expect((await call("/v1/roles", test.key)).status).toBe(200);
    await expectProblem(await call("/v1/roles", test.key, CREATE), {
      status: 403,
      slug: "forbidden",
      instance: "/v1/roles",
      detail: /Test keys/,
    });
  });

  it("answers another tenant's role like a missing one", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const foreign = await createRole(owner, "private");
    const missing = "rol_00000000000000000000000000";
    for (const init of [
      undefined,
      { method: "PATCH", body: '{"name":"mine"}' },
      { method: "DELETE" },
    ]) {
      await expectForeignLikeMissing(
        stranger,
        { path: (id) => `/v1/roles/${id}`, init },
        { foreign, missing },
      );
    }
    const list = (await (await stranger.api("/v1/roles")).json()) as { data: { id: string }[] };
    expect(list.data.map((r) => r.id)).not.toContain(foreign);
    expect((await owner.api(`/v1/roles/${foreign}`)).status).toBe(200);
  });
});
