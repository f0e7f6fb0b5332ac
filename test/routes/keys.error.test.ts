import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

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
    const res = await tenant.api("/v1/keys", { method: "POST", body: '{"name": ' });
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/keys",
      detail: /not well-formed JSON/,
    });
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
