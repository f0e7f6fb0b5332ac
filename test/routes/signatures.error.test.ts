import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { expectMalformedJsonRefused } from "../support/route-checks";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

interface Signature {
  id: string;
  status: string;
  default: boolean;
}

const MISSING_ID = `sig_${"0".repeat(26)}`;

async function create(tenant: TestTenant, name = "Acme"): Promise<Signature> {
  const res = await tenant.api("/v1/signatures", postJson({ name }));
  expect(res.status).toBe(201);
  return (await res.json()) as Signature;
}

function post(tenant: TestTenant, id: string, action: string, body?: unknown) {
  return tenant.api(
    `/v1/signatures/${id}/${action}`,
    body === undefined ? { method: "POST" } : postJson(body),
  );
}

async function read(tenant: TestTenant, id: string): Promise<Signature> {
  const res = await tenant.api(`/v1/signatures/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Signature;
}

async function listed(tenant: TestTenant): Promise<string[]> {
  const res = await tenant.api("/v1/signatures");
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((s) => s.id);
}

async function inState(tenant: TestTenant, status: string): Promise<Signature> {
  const created = await create(tenant);
  const steps: Record<string, string[]> = {
    draft: [],
    pending_review: ["submit"],
    approved: ["submit", "approve"],
    rejected: ["submit", "reject"],
  };
  for (const step of steps[status] ?? []) {
    const res = await post(
      tenant,
      created.id,
      step,
      step === "reject" ? { reason: "no" } : undefined,
    );
    expect(res.status).toBe(200);
  }
  return read(tenant, created.id);
}

describe("POST /v1/signatures (errors)", () => {
  it.each([
    { what: "a missing name", body: {}, detail: /./ },
    { what: "a one-character name", body: { name: "A" }, detail: /2 to 20 characters/ },
    { what: "a blank name", body: { name: "   " }, detail: /2 to 20 characters/ },
    { what: "a name over 20 characters", body: { name: "商".repeat(21) }, detail: /2 to 20/ },
    { what: "a name in 【】", body: { name: "【Acme】" }, detail: /without brackets/ },
    { what: "a name with [ ]", body: { name: "[Acme]" }, detail: /without brackets/ },
    { what: "a control character", body: { name: "Ac\u0000me" }, detail: /control characters/ },
    { what: "a newline", body: { name: "Ac\nme" }, detail: /control characters/ },
    { what: "a name that is not text", body: { name: 42 }, detail: /./ },
  ])("refuses $what with 400 at /name, creating nothing", async ({ body, detail }) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/signatures", postJson(body));
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/signatures",
      pointers: ["/name"],
      detail,
    });
    expect(await listed(tenant)).toEqual([]);
  });

  it("refuses a body that is not well-formed JSON with 400", async () => {
    await expectMalformedJsonRefused(await createTenant(), "/v1/signatures", '{"name": ');
  });

  it("refuses an unknown field with 400 pointing at it", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/signatures", postJson({ name: "Acme", text: "【Acme】" }));
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/signatures",
      pointers: ["/text"],
    });
  });

  it("accepts 20 Chinese characters, counting characters rather than bytes", async () => {
    const tenant = await createTenant();
    await create(tenant, "商".repeat(20));
  });

  it("refuses a second signature with the same name with 409 naming the first", async () => {
    const tenant = await createTenant();
    const first = await create(tenant, "Acme");
    const res = await tenant.api("/v1/signatures", postJson({ name: " Acme " }));
    await expectProblem(res, {
      status: 409,
      slug: "conflict",
      instance: "/v1/signatures",
      pointers: ["/name"],
      detail: new RegExp(`【Acme】 \\(${first.id}\\)`),
    });
    expect(await listed(tenant)).toEqual([first.id]);
  });

  it("refuses an Idempotency-Key reused with another body with 422", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "sig-reuse" };
    expect((await tenant.api("/v1/signatures", postJson({ name: "Acme" }, headers))).status).toBe(
      201,
    );
    const res = await tenant.api("/v1/signatures", postJson({ name: "Other" }, headers));
    await expectProblem(res, {
      status: 422,
      slug: "idempotency-key-reused",
      instance: "/v1/signatures",
      pointers: ["/headers/idempotency-key"],
    });
    expect(await listed(tenant)).toHaveLength(1);
  });
});

describe("GET /v1/signatures (errors)", () => {
  it.each([
    { query: "limit=0", pointer: "/query/limit" },
    { query: "status=live", pointer: "/query/status" },
    { query: `cursor=tpl_${"0".repeat(26)}`, pointer: "/query/cursor" },
  ])("refuses ?$query with 400 pointing at the parameter", async ({ query, pointer }) => {
    const tenant = await createTenant();
    const res = await tenant.api(`/v1/signatures?${query}`);
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/signatures",
      pointers: [pointer],
    });
  });

  it("refuses a malformed id with 400 and answers 404 for one that does not exist", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/signatures/acme"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/signatures/acme",
      pointers: ["/path/id"],
    });
    await expectProblem(await tenant.api(`/v1/signatures/${MISSING_ID}`), {
      status: 404,
      slug: "not-found",
      instance: `/v1/signatures/${MISSING_ID}`,
      detail: new RegExp(MISSING_ID),
    });
  });
});

describe("Signature review in the wrong state (errors)", () => {
  it.each([
    {
      from: "pending_review",
      action: "submit",
      detail: /is pending_review; only a draft or rejected signature can be submitted/,
    },
    { from: "approved", action: "submit", detail: /is approved; only a draft or rejected/ },
    {
      from: "draft",
      action: "approve",
      detail: /is draft; only a pending_review signature can be approved/,
    },
    { from: "rejected", action: "approve", detail: /is rejected; only a pending_review/ },
    {
      from: "approved",
      action: "reject",
      detail: /is approved; only a pending_review signature can be rejected/,
    },
    {
      from: "draft",
      action: "default",
      detail: /is draft; only an approved signature can be the default/,
    },
    { from: "pending_review", action: "default", detail: /is pending_review; only an approved/ },
    { from: "rejected", action: "default", detail: /is rejected; only an approved/ },
  ])(
    "refuses to $action a $from signature with 409 naming its status",
    async ({ from, action, detail }) => {
      const tenant = await createTenant();
      const signature = await inState(tenant, from);
      const res = await post(
        tenant,
        signature.id,
        action,
        action === "reject" ? { reason: "no" } : undefined,
      );
      await expectProblem(res, {
        status: 409,
        slug: "conflict",
        instance: `/v1/signatures/${signature.id}/${action}`,
        detail,
      });
      expect(await read(tenant, signature.id)).toEqual(signature);
    },
  );

  it.each([
    { what: "no reason", body: {}, pointers: ["/reason"] },
    { what: "a blank reason", body: { reason: " " }, pointers: ["/reason"] },
    {
      what: "a reason over 500 characters",
      body: { reason: "r".repeat(501) },
      pointers: ["/reason"],
    },
  ])("refuses a rejection with $what with 400, leaving it pending", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const pending = await inState(tenant, "pending_review");
    const res = await post(tenant, pending.id, "reject", body);
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: `/v1/signatures/${pending.id}/reject`,
      pointers,
    });
    expect((await read(tenant, pending.id)).status).toBe("pending_review");
  });
});

describe("POST /v1/signatures/{id}/submit with a blocked word (errors)", () => {
  it("refuses with 422 listing the hits at /name, and the signature stays a draft", async () => {
    const tenant = await createTenant();
    await env.DB.prepare(
      "INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at) VALUES (?, ?, ?, ?, ?)",
    )
      .bind(`sw_${crypto.randomUUID()}`, tenant.id, "竞品", "block", Date.now())
      .run();
    // A word of the tenant's own, not in the default lexicon, so it is the only hit.
    const created = await create(tenant, "某某竞品");
    const res = await post(tenant, created.id, "submit");

    const { hits, ...problem } = (await res.clone().json()) as Record<string, unknown>;
    expect(hits).toEqual([
      expect.objectContaining({
        word: "竞品",
        policy: "block",
        start: 2,
        end: 4,
        source: "tenant",
      }),
    ]);
    await expectProblem(
      new Response(JSON.stringify(problem), { status: res.status, headers: res.headers }),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: `/v1/signatures/${created.id}/submit`,
        pointers: ["/name"],
      },
    );
    expect(await read(tenant, created.id)).toEqual(created);
  });
});
