import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

interface Entry {
  id: string;
  seq: number;
  at: string;
  actor: { type: string; id: string };
  ip: string | null;
  request_id: string | null;
  action: string;
  target: string;
  diff: Record<string, { from?: unknown; to?: unknown }>;
  prev_hash: string;
  hash: string;
}

async function page(
  t: TestTenant,
  query = "",
): Promise<{ data: Entry[]; next_cursor: string | null }> {
  const res = await t.api(`/v1/audit${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { data: Entry[]; next_cursor: string | null };
}

async function createKey(t: TestTenant, name: string, requestId?: string) {
  const res = await t.api(
    "/v1/keys",
    postJson({ name, scopes: ["messages:send"] }, requestId ? { "x-request-id": requestId } : {}),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

describe("the audit log's API", () => {
  it("lists what the tenant's changes recorded, newest first, with who, where and what", async () => {
    const tenant = await createTenant();
    const key = await createKey(tenant, "ci", "req-create");
    const res = await tenant.api(`/v1/keys/${key.id}`, {
      method: "PATCH",
      body: JSON.stringify({ rate_limit: { per_second: 10 } }),
      headers: { "cf-connecting-ip": "203.0.113.9" },
    });
    expect(res.status).toBe(200);
    const { data, next_cursor } = await page(tenant);
    expect(next_cursor).toBeNull();
    expect(data.map((e) => e.action)).toEqual(["api_key.limit_change", "api_key.create"]);
    const [change, create] = data;
    expect(create).toMatchObject({
      seq: 1,
      actor: { type: "key", id: tenant.keyId },
      request_id: "req-create",
      target: key.id,
      prev_hash: "0".repeat(64),
    });
    expect(create?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(create?.diff.name).toEqual({ to: "ci" });
    // Never the key, nor its hash.
    expect(JSON.stringify(create)).not.toContain(key.key);
    expect(create?.diff).not.toHaveProperty("key_hash");
    expect(change).toMatchObject({ seq: 2, ip: "203.0.113.9", prev_hash: create?.hash });
    expect(change?.diff).toEqual({
      rate_limit_per_second: { from: null, to: 10 },
      rate_limit_burst: { from: null, to: 20 },
    });
  });

  it("filters by action, actor, target and time, and pages with the cursor", async () => {
    const tenant = await createTenant();
    const first = await createKey(tenant, "one");
    const before = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await createKey(tenant, "two");
    await tenant.api(`/v1/keys/${first.id}`, { method: "DELETE" });

    const revokes = await page(tenant, "?action=api_key.revoke");
    expect(revokes.data.map((e) => e.target)).toEqual([first.id]);
    expect((await page(tenant, `?target=${second.id}`)).data.map((e) => e.action)).toEqual([
      "api_key.create",
    ]);
    expect((await page(tenant, `?actor=${tenant.keyId}`)).data).toHaveLength(3);
    expect((await page(tenant, "?actor=key_00000000000000000000000000")).data).toEqual([]);
    const since = await page(tenant, `?since=${encodeURIComponent(before)}`);
    expect(since.data.map((e) => e.target)).toEqual([first.id, second.id]);
    const until = await page(tenant, `?until=${encodeURIComponent(before)}`);
    expect(until.data.map((e) => e.target)).toEqual([first.id]);

    const one = await page(tenant, "?limit=2");
    expect(one.data.map((e) => e.seq)).toEqual([3, 2]);
    const two = await page(tenant, `?limit=2&cursor=${one.next_cursor}`);
    expect(two.data.map((e) => e.seq)).toEqual([1]);
    expect(two.next_cursor).toBeNull();
  });

  it("verifies an intact chain, and names the first entry edited in D1", async () => {
    const tenant = await createTenant();
    for (const name of ["a", "b", "c"]) {
      await createKey(tenant, name);
    }
    const verify = async () => (await tenant.api("/v1/audit/verify")).json();
    expect(await verify()).toEqual({ valid: true, entries: 3 });
    const [, middle] = (await page(tenant)).data;
    await env.DB.prepare("UPDATE audit_entries SET diff = ? WHERE id = ?")
      .bind('{"name":{"to":"forged"}}', middle?.id)
      .run();
    expect(await verify()).toEqual({ valid: false, entries: 3, first_broken_at: middle?.id });
  });

  it("writes neither a change nor its entry when the batch fails", async () => {
    const tenant = await createTenant();
    const proto = Object.getPrototypeOf(env.DB) as D1Database;
    const batch = proto.batch;
    // A statement that fails when it runs, after the entry and the change in the same batch.
    proto.batch = function <T>(this: D1Database, statements: D1PreparedStatement[]) {
      const failing = this.prepare("INSERT INTO no_such_table VALUES (1)");
      return batch.call(this, [...statements, failing]) as Promise<D1Result<T>[]>;
    };
    let res: Response;
    try {
      res = await tenant.api("/v1/tenant", {
        method: "PATCH",
        body: JSON.stringify({ name: "Renamed" }),
        headers: { "x-request-id": "req-fails" },
      });
    } finally {
      proto.batch = batch;
    }
    expect(res.status).toBe(500);
    const settings = (await (await tenant.api("/v1/tenant")).json()) as { name: string };
    expect(settings.name).not.toBe("Renamed");
    expect((await page(tenant)).data).toEqual([]);
  });
});

describe("a change that loses its race", () => {
  it("leaves one entry for two racing decisions on one template: the one that applied", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/templates",
      postJson({ name: "Hi", kind: "notification", body: "Hello." }),
    );
    const { id } = (await created.json()) as { id: string };
    await tenant.api(`/v1/templates/${id}/submit`, postJson({}));
    const statuses = await Promise.all([
      tenant.api(`/v1/templates/${id}/approve`, postJson({})),
      tenant.api(`/v1/templates/${id}/reject`, postJson({ reason: "No" })),
      tenant.api(`/v1/templates/${id}/approve`, postJson({})),
    ]).then((all) => all.map((res) => res.status).sort());
    const applied = statuses.filter((status) => status === 200).length;
    expect(applied).toBe(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(2);
    const decisions = (await page(tenant)).data.filter((e) =>
      ["template.approve", "template.reject"].includes(e.action),
    );
    expect(decisions).toHaveLength(1);
    expect(await (await tenant.api("/v1/audit/verify")).json()).toMatchObject({ valid: true });
  });
});
