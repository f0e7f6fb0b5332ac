import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  mode: "live" | "test";
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
  rate_limit: { per_second: number; burst: number };
}

interface Page {
  data: ApiKey[];
  next_cursor: string | null;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const LISTED_FIELDS = [
  "created_at",
  "id",
  "mode",
  "name",
  "prefix",
  "rate_limit",
  "revoked_at",
  "scopes",
];
const DEFAULT_LIMIT = { per_second: 200, burst: 400 };

async function createKey(
  tenant: TestTenant,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return tenant.api("/v1/keys", postJson(body, headers));
}

async function listKeys(tenant: TestTenant, query = ""): Promise<Page> {
  const res = await tenant.api(`/v1/keys${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

describe("POST /v1/keys (happy)", () => {
  it("creates a live key and shows its secret once, with its details", async () => {
    const tenant = await createTenant();
    const admin = await tenant.addKey(["admin"], "live");
    const before = Date.now();
    const res = await call(
      "/v1/keys",
      admin.key,
      postJson({ name: "CI deploys", scopes: ["messages:send"] }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const created = (await res.json()) as ApiKey & { key: string };
    expect(Object.keys(created).sort()).toEqual([...LISTED_FIELDS, "key"].sort());
    expect(created).toMatchObject({
      name: "CI deploys",
      scopes: ["messages:send"],
      mode: "live",
      revoked_at: null,
      rate_limit: DEFAULT_LIMIT,
    });
    expect(created.id).toMatch(/^key_[0-9A-Z]{26}$/);
    expect(created.key).toMatch(/^rbx_live_[0-9A-Za-z]{32}$/);
    expect(created.prefix.length).toBeGreaterThan("rbx_live_".length);
    expect(created.prefix.length).toBeLessThan(created.key.length);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    expect(created.created_at).toMatch(ISO_TIME);
    expect(Date.parse(created.created_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(created.created_at)).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("lets a test key create only test keys, by default too", async () => {
    const tenant = await createTenant();
    const test = await tenant.addKey(["admin"], "test");
    const res = await call("/v1/keys", test.key, postJson({ name: "staging", scopes: ["admin"] }));
    expect(res.status).toBe(201);
    expect(((await res.json()) as ApiKey).mode).toBe("test");
    await expectProblem(
      await call(
        "/v1/keys",
        test.key,
        postJson({ name: "escape", scopes: ["admin"], mode: "live" }),
      ),
      { status: 422, slug: "unprocessable-entity", instance: "/v1/keys", pointers: ["/mode"] },
    );
    const keys = await listKeys(tenant);
    expect(keys.data.filter((k) => k.mode === "live").map((k) => k.id)).toEqual([tenant.keyId]);
  });

  it("creates a test key when asked for mode test", async () => {
    const tenant = await createTenant();
    const res = await createKey(tenant, { name: "staging", scopes: ["admin"], mode: "test" });
    expect(res.status).toBe(201);
    const created = (await res.json()) as ApiKey & { key: string };
    expect(created.mode).toBe("test");
    expect(created.key).toMatch(/^rbx_test_[0-9A-Za-z]{32}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
  });

  it("makes a different secret every time", async () => {
    const tenant = await createTenant();
    const keys = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await createKey(tenant, { name: `k${i}`, scopes: ["messages:read"] });
      keys.add(((await res.json()) as { key: string }).key);
    }
    expect(keys.size).toBe(5);
  });

  it("trims the name and keeps each scope once", async () => {
    const tenant = await createTenant();
    const res = await createKey(tenant, {
      name: "  reporting  ",
      scopes: ["messages:read", "messages:read"],
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: "reporting", scopes: ["messages:read"] });
  });

  it("gives a new key exactly the scopes it was created with", async () => {
    const tenant = await createTenant();
    const res = await createKey(tenant, { name: "reader", scopes: ["messages:read"] });
    const { key } = (await res.json()) as { key: string };

    expect((await call("/v1/messages", key)).status).toBe(200);
    const send = await call("/v1/messages", key, postJson({ to: "+8613800138000", body: "Hi" }));
    expect(send.status).toBe(403);
    expect((await call("/v1/keys", key)).status).toBe(403);
  });

  it("gives a new admin key every scope, including managing keys", async () => {
    const tenant = await createTenant();
    const res = await createKey(tenant, { name: "root", scopes: ["admin"], mode: "test" });
    const { key } = (await res.json()) as { key: string };

    const send = await call("/v1/messages", key, postJson({ to: "+8613800138000", body: "Hi" }));
    expect(send.status).toBe(202);
    expect((await call("/v1/messages", key)).status).toBe(200);
    expect((await call("/v1/keys", key)).status).toBe(200);
  });

  it("does not create a second key for a repeated Idempotency-Key", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "provision-1" };
    const first = await createKey(tenant, { name: "once", scopes: ["messages:send"] }, headers);
    const second = await createKey(tenant, { name: "once", scopes: ["messages:send"] }, headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    const a = (await first.json()) as ApiKey & { key: string | null };
    const b = (await second.json()) as ApiKey & { key: string | null };
    expect(b.id).toBe(a.id);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    // The secret is shown once: the replay carries the record, not the key.
    expect(a.key).toMatch(/^rbx_live_/);
    expect(b.key).toBeNull();
    expect(JSON.stringify(b)).not.toContain(String(a.key));
    const named = (await listKeys(tenant)).data.filter((k) => k.name === "once");
    expect(named.map((k) => k.id)).toEqual([a.id]);
  });
});

describe("POST /v1/keys with a request limit (happy)", () => {
  it("creates a key with its own limit and shows it when created and listed", async () => {
    const tenant = await createTenant();
    const res = await createKey(tenant, {
      name: "bulk",
      scopes: ["messages:send"],
      rate_limit: { per_second: 50, burst: 75 },
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as ApiKey & { key: string };
    expect(created.rate_limit).toEqual({ per_second: 50, burst: 75 });
    const listed = (await listKeys(tenant)).data.find((k) => k.id === created.id);
    expect(listed?.rate_limit).toEqual({ per_second: 50, burst: 75 });
  });

  it.each([
    { asked: { per_second: 30 }, shown: { per_second: 30, burst: 60 } },
    { asked: { per_second: 1, burst: 1 }, shown: { per_second: 1, burst: 1 } },
    { asked: { per_second: 100_000 }, shown: { per_second: 100_000, burst: 200_000 } },
    {
      asked: { per_second: 100_000, burst: 1_000_000 },
      shown: { per_second: 100_000, burst: 1_000_000 },
    },
  ])(
    "accepts $asked, showing $shown (burst defaults to twice the rate)",
    async ({ asked, shown }) => {
      const tenant = await createTenant();
      const res = await createKey(tenant, { name: "k", scopes: ["admin"], rate_limit: asked });
      expect(res.status).toBe(201);
      expect(((await res.json()) as ApiKey).rate_limit).toEqual(shown);
    },
  );
});

describe("GET /v1/keys (happy)", () => {
  it("lists keys newest first without their secrets or hashes", async () => {
    const tenant = await createTenant();
    const res = await createKey(tenant, { name: "listed", scopes: ["messages:send"] });
    const created = (await res.json()) as ApiKey & { key: string };

    const page = await listKeys(tenant);
    expect(page.next_cursor).toBeNull();
    expect(page.data.map((k) => k.id)).toEqual([created.id, tenant.keyId]);
    for (const listed of page.data) {
      expect(Object.keys(listed).sort()).toEqual(LISTED_FIELDS);
    }
    const { key, ...shown } = created;
    expect(page.data[0]).toEqual(shown);

    const raw = JSON.stringify(page);
    for (const secret of [key, tenant.key]) {
      expect(raw).not.toContain(secret);
      expect(raw).not.toContain(await sha256Hex(secret));
      expect(raw).not.toContain(secret.slice(13));
    }
  });

  it("pages through keys with limit and cursor", async () => {
    const tenant = await createTenant();
    const created: string[] = [tenant.keyId];
    for (const name of ["one", "two", "three", "four"]) {
      const res = await createKey(tenant, { name, scopes: ["messages:read"] });
      created.push(((await res.json()) as ApiKey).id);
    }

    const seen: ApiKey[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: Page = await listKeys(tenant, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      sizes.push(page.data.length);
      seen.push(...page.data);
      if (page.next_cursor !== null) {
        expect(page.next_cursor).toBe(page.data.at(-1)?.id);
      }
      cursor = page.next_cursor;
    } while (cursor !== null && sizes.length < 10);

    expect(sizes).toEqual([2, 2, 1]);
    const ids = seen.map((k) => k.id);
    expect(ids).toEqual([...created].sort().reverse());
    expect(new Set(ids).size).toBe(5);
    const times = seen.map((k) => Date.parse(k.created_at));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  it("answers an empty page after the last key", async () => {
    const tenant = await createTenant();
    const page = await listKeys(tenant, `?cursor=${tenant.keyId}`);
    expect(page).toEqual({ data: [], next_cursor: null });
  });
});

async function patchKey(tenant: TestTenant, id: string, body: unknown): Promise<Response> {
  return tenant.api(`/v1/keys/${id}`, { method: "PATCH", body: JSON.stringify(body) });
}

describe("PATCH /v1/keys/{id} (happy)", () => {
  it("renames a key, answering 200 with its representation and changing nothing else", async () => {
    const tenant = await createTenant();
    const created = (await (
      await createKey(tenant, { name: "old", scopes: ["messages:read"] })
    ).json()) as ApiKey & { key: string };

    const res = await patchKey(tenant, created.id, { name: "  new name  " });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const patched = (await res.json()) as ApiKey;
    expect(Object.keys(patched).sort()).toEqual(LISTED_FIELDS);
    const { key, ...before } = created;
    expect(patched).toEqual({ ...before, name: "new name" });
    expect((await listKeys(tenant)).data.find((k) => k.id === created.id)).toEqual(patched);
    expect((await call("/v1/messages", key)).status).toBe(200);
  });

  it("sets a key's limit, shown by PATCH and the list, and keeps its name", async () => {
    const tenant = await createTenant();
    const other = await tenant.addKey(["messages:send"]);
    const res = await patchKey(tenant, other.id, { rate_limit: { per_second: 5, burst: 8 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: other.id,
      name: "test key",
      rate_limit: { per_second: 5, burst: 8 },
    });
    const page = await listKeys(tenant);
    expect(page.data.find((k) => k.id === other.id)?.rate_limit).toEqual({
      per_second: 5,
      burst: 8,
    });
    expect(page.data.find((k) => k.id === tenant.keyId)?.rate_limit).toEqual(DEFAULT_LIMIT);
  });

  it("changes the name and the limit together, with the burst defaulting to twice the rate", async () => {
    const tenant = await createTenant();
    const res = await patchKey(tenant, tenant.keyId, {
      name: "root",
      rate_limit: { per_second: 1000 },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      name: "root",
      rate_limit: { per_second: 1000, burst: 2000 },
    });
  });

  it("puts a key back on the default limit when rate_limit is null", async () => {
    const tenant = await createTenant();
    const created = (await (
      await createKey(tenant, {
        name: "custom",
        scopes: ["admin"],
        rate_limit: { per_second: 10 },
      })
    ).json()) as ApiKey;
    expect(created.rate_limit).toEqual({ per_second: 10, burst: 20 });

    const res = await patchKey(tenant, created.id, { rate_limit: null });
    expect(res.status).toBe(200);
    expect(((await res.json()) as ApiKey).rate_limit).toEqual(DEFAULT_LIMIT);
    const listed = (await listKeys(tenant)).data.find((k) => k.id === created.id);
    expect(listed?.rate_limit).toEqual(DEFAULT_LIMIT);
  });
});

describe("DELETE /v1/keys/{id} (happy)", () => {
  it("revokes a key: 204, revoked_at in the list, and the key stops working at once", async () => {
    const tenant = await createTenant();
    const res = await createKey(tenant, { name: "leaked", scopes: ["messages:read"] });
    const created = (await res.json()) as ApiKey & { key: string };
    expect((await call("/v1/messages", created.key)).status).toBe(200);

    const before = Date.now();
    const revoked = await tenant.api(`/v1/keys/${created.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    expect(await revoked.text()).toBe("");
    expect(revoked.headers.get("x-request-id")).toBeTruthy();

    const listed = (await listKeys(tenant)).data.find((k) => k.id === created.id);
    expect(listed?.revoked_at).toMatch(ISO_TIME);
    expect(Date.parse(listed?.revoked_at ?? "")).toBeGreaterThanOrEqual(before - 1000);

    const refused = await call("/v1/messages", created.key);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
  });

  it("leaves the tenant's other keys working", async () => {
    const tenant = await createTenant();
    const doomed = await tenant.addKey(["messages:read"]);
    const kept = await tenant.addKey(["messages:read"]);
    expect((await tenant.api(`/v1/keys/${doomed.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await call("/v1/messages", kept.key)).status).toBe(200);
    expect((await tenant.api("/v1/keys")).status).toBe(200);
  });

  it("treats revoking twice as done, keeping the first revocation time", async () => {
    const tenant = await createTenant();
    const doomed = await tenant.addKey(["messages:send"]);
    expect((await tenant.api(`/v1/keys/${doomed.id}`, { method: "DELETE" })).status).toBe(204);
    const first = (await listKeys(tenant)).data.find((k) => k.id === doomed.id)?.revoked_at;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await tenant.api(`/v1/keys/${doomed.id}`, { method: "DELETE" })).status).toBe(204);
    const second = (await listKeys(tenant)).data.find((k) => k.id === doomed.id)?.revoked_at;
    expect(first).toMatch(ISO_TIME);
    expect(second).toBe(first);
  });

  it("lets an admin key revoke itself, after which it is refused", async () => {
    const tenant = await createTenant();
    expect((await tenant.api(`/v1/keys/${tenant.keyId}`, { method: "DELETE" })).status).toBe(204);
    expect((await tenant.api("/v1/keys")).status).toBe(401);
  });
});
