import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { expectMalformedJsonRefused } from "../support/route-checks";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

/** Request limits a key may not have, with the pointers the 400 must carry. */
const INVALID_RATE_LIMITS: { what: string; rate_limit: unknown; pointers: string[] }[] = [
  { what: "a rate of 0", rate_limit: { per_second: 0 }, pointers: ["/rate_limit/per_second"] },
  {
    what: "a rate over 100000",
    rate_limit: { per_second: 100_001 },
    pointers: ["/rate_limit/per_second"],
  },
  {
    what: "a fractional rate",
    rate_limit: { per_second: 2.5 },
    pointers: ["/rate_limit/per_second"],
  },
  {
    what: "a rate sent as a string",
    rate_limit: { per_second: "10" },
    pointers: ["/rate_limit/per_second"],
  },
  {
    what: "a burst without a rate",
    rate_limit: { burst: 10 },
    pointers: ["/rate_limit/per_second"],
  },
  {
    what: "a burst below the rate",
    rate_limit: { per_second: 10, burst: 9 },
    pointers: ["/rate_limit/burst"],
  },
  {
    what: "a burst over 1000000",
    rate_limit: { per_second: 10, burst: 1_000_001 },
    pointers: ["/rate_limit/burst"],
  },
  {
    what: "a fractional burst",
    rate_limit: { per_second: 10, burst: 10.5 },
    pointers: ["/rate_limit/burst"],
  },
  {
    what: "an unknown field in the limit",
    rate_limit: { per_second: 10, window: 60 },
    pointers: ["/rate_limit/window"],
  },
  { what: "a limit that is not an object", rate_limit: 200, pointers: ["/rate_limit"] },
];

/** A refused request leaves the tenant with only the admin key it was created with. */
async function expectOnlyTheAdminKey(tenant: TestTenant) {
  const res = await tenant.api("/v1/keys");
  expect(res.status).toBe(200);
  const page = (await res.json()) as { data: { id: string }[] };
  expect(page.data.map((k) => k.id)).toEqual([tenant.keyId]);
}

describe("POST /v1/keys (errors)", () => {
  it.each([
    { what: "an empty name", body: { name: "", scopes: ["admin"] }, pointers: ["/name"] },
    { what: "a blank name", body: { name: "   ", scopes: ["admin"] }, pointers: ["/name"] },
    {
      what: "a name over 100 characters",
      body: { name: "n".repeat(101), scopes: ["admin"] },
      pointers: ["/name"],
    },
    { what: "a missing name", body: { scopes: ["admin"] }, pointers: ["/name"] },
    {
      what: "an unknown scope",
      body: { name: "ci", scopes: ["messages:read", "messages:delete"] },
      pointers: ["/scopes/1"],
    },
    { what: "empty scopes", body: { name: "ci", scopes: [] }, pointers: ["/scopes"] },
    {
      what: "scopes that are not a list",
      body: { name: "ci", scopes: "admin" },
      pointers: ["/scopes"],
    },
    {
      what: "an unknown mode",
      body: { name: "ci", scopes: ["admin"], mode: "prod" },
      pointers: ["/mode"],
    },
    {
      what: "an unknown extra field",
      body: { name: "ci", scopes: ["admin"], expires_at: "2030-01-01T00:00:00Z" },
      pointers: ["/expires_at"],
    },
    ...INVALID_RATE_LIMITS.map(({ what, rate_limit, pointers }) => ({
      what,
      body: { name: "ci", scopes: ["admin"], rate_limit },
      pointers,
    })),
  ])("refuses $what with 400 and a pointer to the field", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/keys", postJson(body));
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/keys",
      pointers,
    });
    await expectOnlyTheAdminKey(tenant);
  });

  it("refuses a body that is not well-formed JSON with 400", async () => {
    const tenant = await createTenant();
    await expectMalformedJsonRefused(tenant, "/v1/keys", '{"name": ');
    await expectOnlyTheAdminKey(tenant);
  });

  it("refuses a body that is not JSON with 415", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/keys", {
      method: "POST",
      body: "name=ci&scopes=admin",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await expectProblem(res, {
      status: 415,
      slug: "unsupported-media-type",
      instance: "/v1/keys",
      detail: /Content-Type: application\/json/,
    });
    await expectOnlyTheAdminKey(tenant);
  });

  it("refuses an Idempotency-Key reused with another body with 422", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "provision-2" };
    const first = await tenant.api("/v1/keys", postJson({ name: "a", scopes: ["admin"] }, headers));
    expect(first.status).toBe(201);
    const { id } = (await first.json()) as { id: string };

    const res = await tenant.api("/v1/keys", postJson({ name: "b", scopes: ["admin"] }, headers));
    await expectProblem(res, {
      status: 422,
      slug: "idempotency-key-reused",
      instance: "/v1/keys",
      pointers: ["/headers/idempotency-key"],
    });
    const list = (await (await tenant.api("/v1/keys")).json()) as { data: { id: string }[] };
    expect(list.data.map((k) => k.id).sort()).toEqual([id, tenant.keyId].sort());
  });
});

describe("GET /v1/keys (errors)", () => {
  it.each([
    { query: "limit=0", pointer: "/query/limit" },
    { query: "limit=101", pointer: "/query/limit" },
    { query: "cursor=msg_00000000000000000000000000", pointer: "/query/cursor" },
  ])("refuses ?$query with 400 pointing at the parameter", async ({ query, pointer }) => {
    const tenant = await createTenant();
    const res = await tenant.api(`/v1/keys?${query}`);
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/keys",
      pointers: [pointer],
    });
  });
});

interface Shown {
  id: string;
  name: string;
  revoked_at: string | null;
  rate_limit: { per_second: number; burst: number };
}

async function shown(tenant: TestTenant, id: string): Promise<Shown | undefined> {
  const res = await tenant.api("/v1/keys?limit=100");
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Shown[] }).data.find((k) => k.id === id);
}

function patch(body: unknown): RequestInit {
  return { method: "PATCH", body: JSON.stringify(body) };
}

describe("PATCH /v1/keys/{id} (errors)", () => {
  it.each([
    ...INVALID_RATE_LIMITS.map(({ what, rate_limit, pointers }) => ({
      what,
      body: { rate_limit } as Record<string, unknown>,
      pointers,
    })),
    { what: "an empty name", body: { name: "" }, pointers: ["/name"] },
    { what: "a name over 100 characters", body: { name: "n".repeat(101) }, pointers: ["/name"] },
    { what: "an unknown field", body: { scopes: ["admin"] }, pointers: ["/scopes"] },
    {
      what: "a valid limit next to an invalid name",
      body: { name: " ", rate_limit: { per_second: 5 } },
      pointers: ["/name"],
    },
  ])("refuses $what with 400 and a pointer, changing nothing", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const before = await shown(tenant, tenant.keyId);
    const path = `/v1/keys/${tenant.keyId}`;
    const res = await tenant.api(path, patch(body));
    await expectProblem(res, { status: 400, slug: "validation-error", instance: path, pointers });
    expect(await shown(tenant, tenant.keyId)).toEqual(before);
  });

  it("refuses an empty body with 400 asking for at least one field", async () => {
    const tenant = await createTenant();
    const path = `/v1/keys/${tenant.keyId}`;
    const res = await tenant.api(path, patch({}));
    const problem = await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: path,
      detail: /at least one of `name` and `rate_limit`/,
    });
    expect(problem.errors).toHaveLength(1);
  });

  it("refuses a body that is not JSON with 415", async () => {
    const tenant = await createTenant();
    const path = `/v1/keys/${tenant.keyId}`;
    const res = await tenant.api(path, {
      method: "PATCH",
      body: "name=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await expectProblem(res, { status: 415, slug: "unsupported-media-type", instance: path });
  });

  it("refuses a malformed id with 400 pointing at the path", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/keys/not-a-key", patch({ name: "x" }));
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/keys/not-a-key",
      pointers: ["/path/id"],
    });
  });

  it("answers 404 for a well-formed id that does not exist", async () => {
    const tenant = await createTenant();
    const id = `key_${"0".repeat(26)}`;
    const res = await tenant.api(`/v1/keys/${id}`, patch({ name: "x" }));
    await expectProblem(res, {
      status: 404,
      slug: "not-found",
      instance: `/v1/keys/${id}`,
      detail: new RegExp(id),
    });
  });

  it("refuses to change a revoked key with 409, leaving it as it was", async () => {
    const tenant = await createTenant();
    const doomed = await tenant.addKey(["messages:send"]);
    expect((await tenant.api(`/v1/keys/${doomed.id}`, { method: "DELETE" })).status).toBe(204);
    const before = await shown(tenant, doomed.id);
    expect(before?.revoked_at).not.toBeNull();

    const path = `/v1/keys/${doomed.id}`;
    const res = await tenant.api(path, patch({ name: "revived?", rate_limit: { per_second: 9 } }));
    await expectProblem(res, {
      status: 409,
      slug: "conflict",
      instance: path,
      detail: /revoked/,
    });
    expect(await shown(tenant, doomed.id)).toEqual(before);
  });
});

describe("DELETE /v1/keys/{id} (errors)", () => {
  it("refuses a malformed id with 400 pointing at the path, and revokes nothing", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/keys/not-a-key", { method: "DELETE" });
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/keys/not-a-key",
      detail: /API key id/,
      pointers: ["/path/id"],
    });
    expect((await tenant.api("/v1/keys")).status).toBe(200);
  });

  it("answers 404 for a well-formed id that does not exist", async () => {
    const tenant = await createTenant();
    const id = `key_${"0".repeat(26)}`;
    const res = await tenant.api(`/v1/keys/${id}`, { method: "DELETE" });
    await expectProblem(res, {
      status: 404,
      slug: "not-found",
      instance: `/v1/keys/${id}`,
      detail: new RegExp(id),
    });
  });
});
