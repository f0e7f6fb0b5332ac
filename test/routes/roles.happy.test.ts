import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { users } from "../../src/db/schema";
import { BUILT_IN_ROLES, PERMISSIONS, ROLE_PERMISSIONS } from "../../src/domain/permissions";
import { hashPassword } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { readSession } from "../../src/services/accounts/dashboard-auth";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { signIn } from "../support/dashboard";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

interface RoleBody {
  id: string;
  name: string;
  description: string;
  permissions: string[];
  built_in: boolean;
  created_at: string | null;
  updated_at: string | null;
}

async function createRole(tenant: TestTenant, body: unknown): Promise<RoleBody> {
  const res = await tenant.api("/v1/roles", postJson(body));
  expect(res.status).toBe(201);
  return (await res.json()) as RoleBody;
}

const auditOf = async (tenant: TestTenant) =>
  (await listAuditEntries(env, tenant.id, {}, { limit: 100 })).data;

describe("/v1/roles", () => {
  it("lists the built-in roles first, with the matrix's permissions, then the custom ones", async () => {
    const tenant = await createTenant();
    const first = await createRole(tenant, {
      name: "support lead",
      permissions: ["messages:read"],
    });
    const second = await createRole(tenant, {
      name: "campaigns",
      description: "Templates and batches",
      permissions: ["templates:write", "messages:send", "templates:read"],
    });
    const res = await tenant.api("/v1/roles");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: RoleBody[]; next_cursor: null };
    expect(body.next_cursor).toBeNull();
    expect(body.data.map((r) => r.id)).toEqual([...BUILT_IN_ROLES, first.id, second.id]);
    for (const role of BUILT_IN_ROLES) {
      expect(body.data.find((r) => r.id === role)).toMatchObject({
        name: role,
        built_in: true,
        permissions: [...ROLE_PERMISSIONS[role]],
        created_at: null,
      });
    }
    expect(second).toMatchObject({
      name: "campaigns",
      description: "Templates and batches",
      // In the matrix's order, each once.
      permissions: ["messages:send", "templates:read", "templates:write"],
      built_in: false,
    });
    expect(second.id).toMatch(/^rol_[0-9A-Z]{26}$/);
    expect(first.description).toBe("");
  });

  it("gets one role by its id or a built-in role by its name", async () => {
    const tenant = await createTenant();
    const made = await createRole(tenant, { name: "readers", permissions: ["messages:read"] });
    const one = await tenant.api(`/v1/roles/${made.id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual(made);
    const analyst = await tenant.api("/v1/roles/analyst");
    expect(analyst.status).toBe(200);
    expect(await analyst.json()).toMatchObject({
      id: "analyst",
      built_in: true,
      permissions: [...ROLE_PERMISSIONS.analyst],
    });
  });

  it("changes and deletes a custom role, each change audited with its diff", async () => {
    const tenant = await createTenant();
    const made = await createRole(tenant, { name: "readers", permissions: ["messages:read"] });
    const patched = await tenant.api(`/v1/roles/${made.id}`, {
      method: "PATCH",
      body: JSON.stringify({ name: "all readers", permissions: ["messages:read", "audit:read"] }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      id: made.id,
      name: "all readers",
      permissions: ["messages:read", "audit:read"],
    });
    const deleted = await tenant.api(`/v1/roles/${made.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect((await tenant.api(`/v1/roles/${made.id}`)).status).toBe(404);

    const entries = await auditOf(tenant);
    expect(entries.map((e) => [e.action, e.target, e.actorId])).toEqual([
      ["role.delete", made.id, tenant.keyId],
      ["role.update", made.id, tenant.keyId],
      ["role.create", made.id, tenant.keyId],
    ]);
    const [del, update, create] = entries.map((e) => JSON.parse(e.diff));
    expect(create).toEqual({
      name: { to: "readers" },
      description: { to: "" },
      permissions: { to: ["messages:read"] },
    });
    expect(update).toEqual({
      name: { from: "readers", to: "all readers" },
      permissions: { from: ["messages:read"], to: ["messages:read", "audit:read"] },
    });
    expect(del).toEqual({
      name: { from: "all readers" },
      description: { from: "" },
      permissions: { from: ["messages:read", "audit:read"] },
    });
  });

  it("replays a create sent again with the same Idempotency-Key", async () => {
    const tenant = await createTenant();
    const request = postJson(
      { name: "once", permissions: ["messages:read"] },
      { "idempotency-key": "role-1" },
    );
    const first = await tenant.api("/v1/roles", request);
    const again = await tenant.api("/v1/roles", request);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect((await auditOf(tenant)).length).toBe(1);
  });

  it("lists every permission with its description", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/permissions");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { name: string; description: string }[] };
    expect(body.data.map((p) => p.name)).toEqual([...PERMISSIONS]);
    for (const permission of body.data) {
      expect(permission.description.length).toBeGreaterThan(10);
    }
  });

  it("applies a custom role's new permissions to its users' sessions at once", async () => {
    const tenant = await createTenant();
    const role = await createRole(tenant, {
      name: "senders",
      permissions: ["messages:send", "messages:read"],
    });
    const id = newId("usr");
    const user = {
      id,
      email: `sender-${id.slice(-8).toLowerCase()}@example.com`,
      password: "correct horse battery staple",
    };
    await database(env.DB)
      .insert(users)
      .values({
        id,
        tenantId: tenant.id,
        email: user.email,
        passwordHash: await hashPassword(user.password),
        role: role.id,
        createdAt: Date.now(),
      });
    const { cookie } = await signIn(user);
    const token = cookie.slice("rbx_session=".length);
    expect((await readSession(env, token))?.permissions).toEqual([
      "messages:send",
      "messages:read",
    ]);

    const patched = await tenant.api(`/v1/roles/${role.id}`, {
      method: "PATCH",
      body: JSON.stringify({ permissions: ["messages:read", "templates:read"] }),
    });
    expect(patched.status).toBe(200);
    const session = await readSession(env, token);
    // The same session, still signed in, now holding the role's new set.
    expect(session?.userId).toBe(user.id);
    expect(session?.permissions).toEqual(["messages:read", "templates:read"]);
  });
});
