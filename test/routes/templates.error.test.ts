import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/problem";
import { servingTemplate } from "../../src/services/content/serving-templates";
import { expectProblem } from "../support/problem";
import { expectMalformedJsonRefused } from "../support/route-checks";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

interface Template {
  id: string;
  status: string;
  version: number;
  kind: string;
  body: string;
  approved_version: number | null;
}

const OTP = {
  name: "Login code",
  kind: "verification",
  body: "Your code is {{code}}.",
  variables: [{ name: "code", type: "code", max_length: 8 }],
};
const MISSING_ID = `tpl_${"0".repeat(26)}`;

async function create(tenant: TestTenant, body: unknown = OTP): Promise<Template> {
  const res = await tenant.api("/v1/templates", postJson(body));
  expect(res.status).toBe(201);
  return (await res.json()) as Template;
}

function post(tenant: TestTenant, id: string, action: string, body?: unknown) {
  return tenant.api(
    `/v1/templates/${id}/${action}`,
    body === undefined ? { method: "POST" } : postJson(body),
  );
}

function patch(tenant: TestTenant, id: string, body: unknown) {
  return tenant.api(`/v1/templates/${id}`, { method: "PATCH", body: JSON.stringify(body) });
}

async function read(tenant: TestTenant, id: string): Promise<Template> {
  const res = await tenant.api(`/v1/templates/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Template;
}

async function listed(tenant: TestTenant): Promise<string[]> {
  const res = await tenant.api("/v1/templates");
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((t) => t.id);
}

async function inReview(tenant: TestTenant): Promise<Template> {
  const created = await create(tenant);
  expect((await post(tenant, created.id, "submit")).status).toBe(200);
  return read(tenant, created.id);
}

async function approvedTemplate(tenant: TestTenant): Promise<Template> {
  const created = await inReview(tenant);
  expect((await post(tenant, created.id, "approve")).status).toBe(200);
  return read(tenant, created.id);
}

describe("POST /v1/templates (errors)", () => {
  const variable = (overrides: Record<string, unknown>) => ({
    ...OTP,
    variables: [{ name: "code", type: "code", max_length: 8, ...overrides }],
  });
  it.each([
    { what: "a missing name", body: { ...OTP, name: undefined }, pointers: ["/name"] },
    { what: "a blank name", body: { ...OTP, name: "  " }, pointers: ["/name"] },
    { what: "an unknown kind", body: { ...OTP, kind: "promo" }, pointers: ["/kind"] },
    { what: "a missing body", body: { ...OTP, body: undefined }, pointers: ["/body"] },
    { what: "a blank body", body: { ...OTP, body: " \n " }, pointers: ["/body"] },
    {
      what: "a body over 1000 characters",
      body: { ...OTP, body: "x".repeat(1001) },
      pointers: ["/body"],
    },
    {
      what: "a control character in the body",
      body: { ...OTP, body: "a\u0007 {{code}}" },
      pointers: ["/body"],
    },
    {
      what: "variables that are not a list",
      body: { ...OTP, variables: {} },
      pointers: ["/variables"],
    },
    {
      what: "more than 20 variables",
      body: {
        ...OTP,
        variables: Array.from({ length: 21 }, (_, i) => ({
          name: `v${i}`,
          type: "string",
          max_length: 5,
        })),
      },
      pointers: ["/variables"],
    },
    {
      what: "an upper-case variable name",
      body: variable({ name: "Code" }),
      pointers: ["/variables/0/name"],
    },
    {
      what: "an unknown variable type",
      body: variable({ type: "email" }),
      pointers: ["/variables/0/type"],
    },
    {
      what: "a max_length of 0",
      body: variable({ max_length: 0 }),
      pointers: ["/variables/0/max_length"],
    },
    {
      what: "a max_length over 500",
      body: variable({ max_length: 501 }),
      pointers: ["/variables/0/max_length"],
    },
    {
      what: "maxLength in camelCase",
      body: variable({ max_length: undefined, maxLength: 8 }),
      pointers: ["/variables/0/max_length", "/variables/0/maxLength"],
    },
    { what: "an unknown field", body: { ...OTP, locale: "en" }, pointers: ["/locale"] },
  ])("refuses $what with 400 and a pointer, creating nothing", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/templates", postJson(body));
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/templates",
      pointers,
    });
    expect(await listed(tenant)).toEqual([]);
  });

  it.each([
    {
      what: "a placeholder that is not declared",
      body: { ...OTP, body: "Code {{code}} for {{user}}" },
      pointers: ["/body"],
      detail: /\{\{user\}\} is not declared/,
    },
    {
      what: "a declared variable the body does not use",
      body: { ...OTP, body: "No code here" },
      pointers: ["/variables/0/name"],
      detail: /`code` is declared but the body has no \{\{code\}\}/,
    },
    {
      what: "a variable declared twice",
      body: {
        ...OTP,
        variables: [...OTP.variables, { name: "code", type: "string", max_length: 3 }],
      },
      pointers: ["/variables/1/name"],
      detail: /declared twice/,
    },
    {
      what: "an unbalanced placeholder",
      body: { ...OTP, body: "Your code is {{code}. {{code}}" },
      pointers: ["/body"],
      detail: /not a placeholder/,
    },
  ])("refuses $what with 422 naming it, creating nothing", async ({ body, pointers, detail }) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/templates", postJson(body));
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/templates",
      pointers,
      detail,
    });
    expect(await listed(tenant)).toEqual([]);
  });

  it("names each undeclared placeholder and each unused variable in one 422", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/templates",
      postJson({
        ...OTP,
        body: "{{a}} and {{b}}",
        variables: [{ name: "c", type: "string", max_length: 3 }],
      }),
    );
    const problem = await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/templates",
      pointers: ["/body", "/body", "/variables/0/name"],
    });
    expect(problem.errors?.map((e) => e.detail)).toEqual([
      "`c` is declared but the body has no {{c}}",
      "{{a}} is not declared in `variables`",
      "{{b}} is not declared in `variables`",
    ]);
  });

  it("refuses a body that is not well-formed JSON with 400", async () => {
    await expectMalformedJsonRefused(await createTenant(), "/v1/templates", '{"name": ');
  });

  it("refuses a body that is not JSON with 415", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/templates", {
      method: "POST",
      body: "name=x",
      headers: { "content-type": "text/plain" },
    });
    await expectProblem(res, {
      status: 415,
      slug: "unsupported-media-type",
      instance: "/v1/templates",
    });
  });

  it("refuses an Idempotency-Key reused with another body with 422", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "tpl-reuse" };
    const first = await tenant.api("/v1/templates", postJson(OTP, headers));
    expect(first.status).toBe(201);
    const res = await tenant.api("/v1/templates", postJson({ ...OTP, name: "Other" }, headers));
    await expectProblem(res, {
      status: 422,
      slug: "idempotency-key-reused",
      instance: "/v1/templates",
      pointers: ["/headers/idempotency-key"],
    });
    expect(await listed(tenant)).toHaveLength(1);
  });
});

describe("GET /v1/templates (errors)", () => {
  it.each([
    { query: "limit=0", pointer: "/query/limit" },
    { query: "limit=101", pointer: "/query/limit" },
    { query: "status=sent", pointer: "/query/status" },
    { query: "kind=promo", pointer: "/query/kind" },
    { query: `cursor=key_${"0".repeat(26)}`, pointer: "/query/cursor" },
  ])("refuses ?$query with 400 pointing at the parameter", async ({ query, pointer }) => {
    const tenant = await createTenant();
    const res = await tenant.api(`/v1/templates?${query}`);
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/templates",
      pointers: [pointer],
    });
  });

  it("refuses a malformed id with 400 and answers 404 for one that does not exist", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/templates/nope"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/templates/nope",
      pointers: ["/path/id"],
    });
    await expectProblem(await tenant.api(`/v1/templates/${MISSING_ID}`), {
      status: 404,
      slug: "not-found",
      instance: `/v1/templates/${MISSING_ID}`,
      detail: new RegExp(MISSING_ID),
    });
  });
});

describe("PATCH /v1/templates/{id} (errors)", () => {
  it("refuses an empty body with 400 asking for at least one field", async () => {
    const tenant = await createTenant();
    const created = await create(tenant);
    const path = `/v1/templates/${created.id}`;
    await expectProblem(await patch(tenant, created.id, {}), {
      status: 400,
      slug: "validation-error",
      instance: path,
      detail: /at least one of `name`, `kind`, `body` and `variables`/,
    });
  });

  it("refuses a new body with a placeholder the variables do not declare with 422, changing nothing", async () => {
    const tenant = await createTenant();
    const created = await create(tenant);
    const before = await read(tenant, created.id);
    const path = `/v1/templates/${created.id}`;
    await expectProblem(await patch(tenant, created.id, { body: "{{code}} for {{name}}" }), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      pointers: ["/body"],
      detail: /\{\{name\}\} is not declared/,
    });
    expect(await read(tenant, created.id)).toEqual(before);
  });

  it("refuses to change the text of a template pending review with 409 naming its status", async () => {
    const tenant = await createTenant();
    const pending = await inReview(tenant);
    const path = `/v1/templates/${pending.id}`;
    await expectProblem(await patch(tenant, pending.id, { body: "Code: {{code}}" }), {
      status: 409,
      slug: "conflict",
      instance: path,
      detail: /pending_review/,
    });
    expect(await read(tenant, pending.id)).toEqual(pending);
  });

  it("refuses to change the kind once a version is approved with 409", async () => {
    const tenant = await createTenant();
    const approved = await approvedTemplate(tenant);
    const path = `/v1/templates/${approved.id}`;
    await expectProblem(await patch(tenant, approved.id, { kind: "marketing" }), {
      status: 409,
      slug: "conflict",
      instance: path,
      detail: /kind stays verification/,
    });
    expect(await read(tenant, approved.id)).toEqual(approved);
  });
});

describe("Template review in the wrong state (errors)", () => {
  it.each([
    { action: "approve", detail: /is draft; only a pending_review template can be approved/ },
    { action: "reject", detail: /is draft; only a pending_review template can be rejected/ },
  ])("refuses to $action a draft with 409 naming its status", async ({ action, detail }) => {
    const tenant = await createTenant();
    const created = await create(tenant);
    const body = action === "reject" ? { reason: "no" } : undefined;
    const res = await post(tenant, created.id, action, body);
    await expectProblem(res, {
      status: 409,
      slug: "conflict",
      instance: `/v1/templates/${created.id}/${action}`,
      detail,
    });
    expect((await read(tenant, created.id)).status).toBe("draft");
  });

  it("refuses to submit a template already pending review or approved with 409", async () => {
    const tenant = await createTenant();
    const pending = await inReview(tenant);
    await expectProblem(await post(tenant, pending.id, "submit"), {
      status: 409,
      slug: "conflict",
      instance: `/v1/templates/${pending.id}/submit`,
      detail: /is pending_review; only a draft or rejected template can be submitted/,
    });
    const approved = await approvedTemplate(tenant);
    await expectProblem(await post(tenant, approved.id, "submit"), {
      status: 409,
      slug: "conflict",
      instance: `/v1/templates/${approved.id}/submit`,
      detail: /is approved/,
    });
  });

  it("refuses to reject an approved template with 409, and it keeps serving", async () => {
    const tenant = await createTenant();
    const approved = await approvedTemplate(tenant);
    await expectProblem(await post(tenant, approved.id, "reject", { reason: "changed my mind" }), {
      status: 409,
      slug: "conflict",
      instance: `/v1/templates/${approved.id}/reject`,
      detail: /is approved/,
    });
    expect((await servingTemplate(env, tenant.id, approved.id)).version).toBe(1);
  });

  it.each([
    { what: "no reason", body: {}, pointers: ["/reason"] },
    { what: "a blank reason", body: { reason: "   " }, pointers: ["/reason"] },
    {
      what: "a reason over 500 characters",
      body: { reason: "r".repeat(501) },
      pointers: ["/reason"],
    },
    { what: "an unknown field", body: { reason: "x", note: "y" }, pointers: ["/note"] },
  ])("refuses a rejection with $what with 400, leaving it pending", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const pending = await inReview(tenant);
    const res = await post(tenant, pending.id, "reject", body);
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: `/v1/templates/${pending.id}/reject`,
      pointers,
    });
    expect((await read(tenant, pending.id)).status).toBe("pending_review");
  });
});

describe("POST /v1/templates/{id}/submit with a blocked word (errors)", () => {
  it("refuses with 422 listing the hits, and the template stays a draft", async () => {
    const tenant = await createTenant();
    await env.DB.prepare(
      "INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at) VALUES (?, ?, ?, ?, ?)",
    )
      .bind(`sw_${crypto.randomUUID()}`, tenant.id, "casino", "block", Date.now())
      .run();
    const created = await create(tenant, { ...OTP, body: "Your casino code is {{code}}." });
    const res = await post(tenant, created.id, "submit");

    const { hits, ...problem } = (await res.clone().json()) as Record<string, unknown>;
    expect(hits).toEqual([
      expect.objectContaining({ word: "casino", policy: "block", start: 5, end: 11 }),
    ]);
    const withoutHits = new Response(JSON.stringify(problem), {
      status: res.status,
      headers: res.headers,
    });
    await expectProblem(withoutHits, {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/templates/${created.id}/submit`,
      pointers: ["/body"],
    });
    expect(await read(tenant, created.id)).toEqual(created);
  });
});

describe("servingTemplate (errors)", () => {
  async function refusal(tenantId: string, id: string): Promise<ApiError> {
    const error = await servingTemplate(env, tenantId, id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }

  it("refuses a template without an approved version with 422 at /template_id", async () => {
    const tenant = await createTenant();
    const pending = await inReview(tenant);
    const error = await refusal(tenant.id, pending.id);
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/no approved version/);
    expect(error.errors).toEqual([{ pointer: "/template_id", detail: "not approved yet" }]);
  });

  it("refuses an unknown template with 422 at /template_id", async () => {
    const tenant = await createTenant();
    const error = await refusal(tenant.id, MISSING_ID);
    expect(error.status).toBe(422);
    expect(error.message).toBe(`No template ${MISSING_ID} in this account.`);
    expect(error.errors).toEqual([{ pointer: "/template_id", detail: "no such template" }]);
  });
});
