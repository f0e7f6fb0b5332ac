import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { users } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { expectProblem } from "../support/problem";
import { expectMalformedJsonRefused } from "../support/route-checks";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

async function createRole(tenant: TestTenant, name: string): Promise<string> {
  const res = await tenant.api("/v1/roles", postJson({ name, permissions: ["messages:read"] }));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const patch = (body: unknown): RequestInit => ({ method: "PATCH", body: JSON.stringify(body) });

describe("/v1/roles refusing bad requests", () => {
  it("refuses an unknown permission with 422 naming it, and creates nothing", async () => {
    const tenant = await createTenant();
    const problem = await expectProblem(
      await tenant.api(
        "/v1/roles",
        postJson({ name: "x", permissions: ["messages:read", "messages:delete"] }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/roles",
        detail: /`messages:delete`/,
        pointers: ["/permissions/1"],
      },
    );
    expect(problem.detail).not.toMatch(/messages:read/);
    const list = (await (await tenant.api("/v1/roles")).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(8);
  });

  it("refuses a schema violation with 400 and a pointer per field", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api("/v1/roles", postJson({ name: " ", permissions: [], extra: 1 })),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/roles",
        pointers: ["/name", "/permissions", "/extra"],
      },
    );
    await expectMalformedJsonRefused(tenant, "/v1/roles", "{not json");
    const id = await createRole(tenant, "r");
    await expectProblem(await tenant.api(`/v1/roles/${id}`, patch({})), {
      status: 400,
      slug: "validation-error",
      instance: `/v1/roles/${id}`,
    });
    await expectProblem(await tenant.api("/v1/roles/nobody"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/roles/nobody",
      pointers: ["/path/id"],
    });
  });

  it("refuses a duplicate name or a built-in role's name with 409", async () => {
    const tenant = await createTenant();
    const first = await createRole(tenant, "campaigns");
    const other = await createRole(tenant, "others");
    for (const name of ["campaigns", "analyst", "Owner"]) {
      await expectProblem(
        await tenant.api("/v1/roles", postJson({ name, permissions: ["messages:read"] })),
        { status: 409, slug: "conflict", instance: "/v1/roles", detail: new RegExp(name) },
      );
    }
    await expectProblem(await tenant.api(`/v1/roles/${other}`, patch({ name: "campaigns" })), {
      status: 409,
      slug: "conflict",
      instance: `/v1/roles/${other}`,
    });
    // Another tenant may use the same name.
    expect(await createRole(await createTenant(), "campaigns")).not.toBe(first);
  });

  it("refuses to edit or delete a built-in role with 409", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/roles/analyst", patch({ permissions: ["admin"] })), {
      status: 409,
      slug: "conflict",
      instance: "/v1/roles/analyst",
      detail: /built-in role and cannot be edited/,
    });
    await expectProblem(await tenant.api("/v1/roles/owner", { method: "DELETE" }), {
      status: 409,
      slug: "conflict",
      instance: "/v1/roles/owner",
      detail: /built-in role and cannot be deleted/,
    });
  });

  it("refuses to delete a role a user has with 409 and no audit entry, and deletes it once nobody has it", async () => {
    const tenant = await createTenant();
    const id = await createRole(tenant, "in use");
    const userId = newId("usr");
    await database(env.DB)
      .insert(users)
      .values({
        id: userId,
        tenantId: tenant.id,
        email: `${userId.toLowerCase()}@example.com`,
        passwordHash: "x",
        role: id,
        createdAt: Date.now(),
      });
    await expectProblem(await tenant.api(`/v1/roles/${id}`, { method: "DELETE" }), {
      status: 409,
      slug: "conflict",
      instance: `/v1/roles/${id}`,
      detail: /in use/,
    });
    expect((await tenant.api(`/v1/roles/${id}`)).status).toBe(200);
    await database(env.DB).update(users).set({ role: "analyst" }).where(eq(users.id, userId));
    expect((await tenant.api(`/v1/roles/${id}`, { method: "DELETE" })).status).toBe(204);
    const actions = (await listAuditEntries(env, tenant.id, {}, { limit: 10 })).data.map(
      (e) => e.action,
    );
    expect(actions).toEqual(["role.delete", "role.create"]);
  });
});
