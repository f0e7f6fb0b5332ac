import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { renderTemplate } from "../../src/domain/templates";
import { servingTemplate } from "../../src/services/content/serving-templates";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

interface Template {
  id: string;
  name: string;
  kind: string;
  status: string;
  version: number;
  body: string;
  variables: { name: string; type: string; max_length: number }[];
  approved_version: number | null;
  review_reason: string | null;
  opt_out: string | null;
  submitted_at: string | null;
  reviewed_at: string | null;
  created_at: string;
  updated_at: string;
}

interface Page {
  data: Template[];
  next_cursor: string | null;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FIELDS = [
  "approved_version",
  "body",
  "created_at",
  "id",
  "kind",
  "name",
  "opt_out",
  "review_reason",
  "reviewed_at",
  "status",
  "submitted_at",
  "updated_at",
  "variables",
  "version",
];

const OTP = {
  name: "Login code",
  kind: "verification",
  body: "Your code is {{code}}; it expires in {{ minutes }} minutes.",
  variables: [
    { name: "code", type: "code", max_length: 8 },
    { name: "minutes", type: "number", max_length: 2 },
  ],
};

async function create(tenant: TestTenant, body: unknown = OTP): Promise<Template> {
  const res = await tenant.api("/v1/templates", postJson(body));
  expect(res.status).toBe(201);
  return (await res.json()) as Template;
}

async function act(tenant: TestTenant, id: string, action: string, body?: unknown) {
  const res = await tenant.api(
    `/v1/templates/${id}/${action}`,
    body === undefined ? { method: "POST" } : postJson(body),
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Template;
}

async function patch(tenant: TestTenant, id: string, body: unknown): Promise<Template> {
  const res = await tenant.api(`/v1/templates/${id}`, {
    method: "PATCH",
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Template;
}

async function read(tenant: TestTenant, id: string): Promise<Template> {
  const res = await tenant.api(`/v1/templates/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Template;
}

async function approved(tenant: TestTenant, body: unknown = OTP): Promise<Template> {
  const created = await create(tenant, body);
  await act(tenant, created.id, "submit");
  return act(tenant, created.id, "approve");
}

async function addSensitiveWord(tenantId: string, word: string, policy: string) {
  await env.DB.prepare(
    "INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at) VALUES (?, ?, ?, ?, ?)",
  )
    .bind(`sw_${crypto.randomUUID()}`, tenantId, word, policy, Date.now())
    .run();
}

describe("POST /v1/templates (happy)", () => {
  it("creates a draft, version 1, showing its variables in snake_case", async () => {
    const tenant = await createTenant();
    const before = Date.now();
    const res = await tenant.api("/v1/templates", postJson(OTP));
    expect(res.status).toBe(201);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const created = (await res.json()) as Template;
    expect(Object.keys(created).sort()).toEqual(FIELDS);
    expect(created).toMatchObject({
      ...OTP,
      status: "draft",
      version: 1,
      approved_version: null,
      review_reason: null,
      opt_out: null,
      submitted_at: null,
      reviewed_at: null,
    });
    expect(created.id).toMatch(/^tpl_[0-9A-Z]{26}$/);
    expect(created.created_at).toMatch(ISO_TIME);
    expect(Date.parse(created.created_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(created.updated_at).toBe(created.created_at);
    expect(await read(tenant, created.id)).toEqual(created);
  });

  it("trims the name and accepts a body without variables", async () => {
    const tenant = await createTenant();
    const created = await create(tenant, {
      name: "  Notice  ",
      kind: "notification",
      body: "Your parcel has shipped.",
    });
    expect(created.name).toBe("Notice");
    expect(created.variables).toEqual([]);
  });

  it("creates one template for a repeated Idempotency-Key and replays the first response", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "tpl-1" };
    const first = await tenant.api("/v1/templates", postJson(OTP, headers));
    const second = await tenant.api("/v1/templates", postJson(OTP, headers));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const a = (await first.json()) as Template;
    expect(await second.json()).toEqual(a);
    const page = (await (await tenant.api("/v1/templates")).json()) as Page;
    expect(page.data.map((t) => t.id)).toEqual([a.id]);
  });

  it("says a marketing body without an opt-out line gets one when sent, and one with it keeps it", async () => {
    const tenant = await createTenant();
    const without = await create(tenant, {
      name: "Sale",
      kind: "marketing",
      body: "50% off today",
    });
    expect(without.opt_out).toBe("added_at_send");
    expect(without.body).toBe("50% off today");
    const withLine = await create(tenant, {
      name: "Sale CN",
      kind: "marketing",
      body: "全场五折，回T退订",
    });
    expect(withLine.opt_out).toBe("in_body");
  });
});

describe("Template review (happy)", () => {
  it("takes a template from draft through pending_review to approved, and then it serves", async () => {
    const tenant = await createTenant();
    const reviewer = await tenant.addKey(["templates:review"]);
    const created = await create(tenant);
    await expect(servingTemplate(env, tenant.id, created.id)).rejects.toThrow(/no approved/);

    const submitted = await act(tenant, created.id, "submit");
    expect(submitted).toMatchObject({ status: "pending_review", version: 1, review_reason: null });
    expect(submitted.submitted_at).toMatch(ISO_TIME);
    expect(submitted.reviewed_at).toBeNull();

    const res = await tenant.api(`/v1/templates/${created.id}/approve`, {
      method: "POST",
      headers: { authorization: `Bearer ${reviewer.key}` },
    });
    expect(res.status).toBe(200);
    const done = (await res.json()) as Template;
    expect(done).toMatchObject({ status: "approved", version: 1, approved_version: 1 });
    expect(done.reviewed_at).toMatch(ISO_TIME);
    expect(done.submitted_at).toBe(submitted.submitted_at);

    const serving = await servingTemplate(env, tenant.id, created.id);
    expect(serving).toMatchObject({ id: created.id, version: 1, kind: "verification" });
    expect(serving.variables).toEqual([
      { name: "code", type: "code", maxLength: 8 },
      { name: "minutes", type: "number", maxLength: 2 },
    ]);
    expect(renderTemplate(serving.compiled, { code: "4821", minutes: "5" })).toBe(
      "Your code is 4821; it expires in 5 minutes.",
    );
  });

  it("edits an approved template into a new draft version while the approved one keeps serving", async () => {
    const tenant = await createTenant();
    const first = await approved(tenant);
    const edited = await patch(tenant, first.id, {
      body: "{{code}} is your code. Valid {{minutes}} min.",
    });
    expect(edited).toMatchObject({
      status: "draft",
      version: 2,
      approved_version: 1,
      body: "{{code}} is your code. Valid {{minutes}} min.",
      review_reason: null,
      submitted_at: null,
      reviewed_at: null,
    });

    const stillV1 = await servingTemplate(env, tenant.id, first.id);
    expect(stillV1.version).toBe(1);
    expect(renderTemplate(stillV1.compiled, { code: "1", minutes: "2" })).toBe(
      "Your code is 1; it expires in 2 minutes.",
    );

    await act(tenant, first.id, "submit");
    expect((await servingTemplate(env, tenant.id, first.id)).version).toBe(1);
    const v2 = await act(tenant, first.id, "approve");
    expect(v2).toMatchObject({ status: "approved", version: 2, approved_version: 2 });
    const serving = await servingTemplate(env, tenant.id, first.id);
    expect(serving.version).toBe(2);
    expect(renderTemplate(serving.compiled, { code: "1", minutes: "2" })).toBe(
      "1 is your code. Valid 2 min.",
    );
  });

  it("keeps serving the approved version when its next version is rejected", async () => {
    const tenant = await createTenant();
    const first = await approved(tenant);
    await patch(tenant, first.id, {
      body: "Code {{code}} ({{minutes}} min)",
    });
    await act(tenant, first.id, "submit");
    const rejected = await act(tenant, first.id, "reject", { reason: "  Too terse  " });
    expect(rejected).toMatchObject({
      status: "rejected",
      version: 2,
      approved_version: 1,
      review_reason: "Too terse",
    });
    expect((await servingTemplate(env, tenant.id, first.id)).version).toBe(1);
  });

  it("rejects with the reason, then an edit makes the same version a draft again to resubmit", async () => {
    const tenant = await createTenant();
    const created = await create(tenant);
    await act(tenant, created.id, "submit");
    const rejected = await act(tenant, created.id, "reject", {
      reason: "Say which service the code is for.",
    });
    expect(rejected).toMatchObject({
      status: "rejected",
      version: 1,
      approved_version: null,
      review_reason: "Say which service the code is for.",
    });
    expect(rejected.reviewed_at).toMatch(ISO_TIME);

    const edited = await patch(tenant, created.id, {
      body: "Relaybox: your code is {{code}}, valid {{minutes}} minutes.",
    });
    expect(edited).toMatchObject({
      status: "draft",
      version: 1,
      review_reason: null,
      reviewed_at: null,
      submitted_at: null,
    });
    expect((await act(tenant, created.id, "submit")).status).toBe("pending_review");
  });

  it("lets a rejected template be submitted again as it is", async () => {
    const tenant = await createTenant();
    const created = await create(tenant);
    await act(tenant, created.id, "submit");
    await act(tenant, created.id, "reject", { reason: "Unclear" });
    const again = await act(tenant, created.id, "submit");
    expect(again).toMatchObject({ status: "pending_review", version: 1, review_reason: null });
  });

  it("names the words that need a reviewer's look in review_reason", async () => {
    const tenant = await createTenant();
    await addSensitiveWord(tenant.id, "lottery", "review");
    const created = await create(tenant, {
      name: "Promo",
      kind: "marketing",
      body: "Win the lottery with {{code}}! Lottery ends soon.",
      variables: [{ name: "code", type: "code", max_length: 10 }],
    });
    const submitted = await act(tenant, created.id, "submit");
    expect(submitted.status).toBe("pending_review");
    expect(submitted.review_reason).toMatch(/lottery/);
  });
});

describe("PATCH /v1/templates/{id} (happy)", () => {
  it("edits a draft in place, keeping version 1", async () => {
    const tenant = await createTenant();
    const created = await create(tenant);
    const edited = await patch(tenant, created.id, {
      body: "Code: {{code}}",
      variables: [{ name: "code", type: "code", max_length: 6 }],
      kind: "notification",
    });
    expect(edited).toMatchObject({
      id: created.id,
      version: 1,
      status: "draft",
      kind: "notification",
      body: "Code: {{code}}",
      variables: [{ name: "code", type: "code", max_length: 6 }],
    });
    expect(Date.parse(edited.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    expect(await read(tenant, created.id)).toEqual(edited);
  });

  it("renames an approved template without a new version or review", async () => {
    const tenant = await createTenant();
    const first = await approved(tenant);
    const renamed = await patch(tenant, first.id, { name: "Sign-in code" });
    expect(renamed).toMatchObject({
      name: "Sign-in code",
      status: "approved",
      version: 1,
      approved_version: 1,
    });
  });

  it("makes no new version when the body and variables sent are the ones it has", async () => {
    const tenant = await createTenant();
    const first = await approved(tenant);
    const same = await patch(tenant, first.id, { body: OTP.body, variables: OTP.variables });
    expect(same).toMatchObject({ status: "approved", version: 1 });
  });
});

describe("GET /v1/templates (happy)", () => {
  it("lists newest first, filters by status and kind, and pages with a cursor", async () => {
    const tenant = await createTenant();
    const a = await create(tenant);
    const b = await approved(tenant, { name: "Sale", kind: "marketing", body: "50% off" });
    const c = await create(tenant, { name: "Ship", kind: "notification", body: "Shipped." });

    const all = (await (await tenant.api("/v1/templates")).json()) as Page;
    expect(all.data.map((t) => t.id)).toEqual([c.id, b.id, a.id]);
    expect(all.next_cursor).toBeNull();
    for (const listed of all.data) {
      expect(Object.keys(listed).sort()).toEqual(FIELDS);
    }
    expect(all.data[1]).toEqual(await read(tenant, b.id));

    const drafts = (await (await tenant.api("/v1/templates?status=draft")).json()) as Page;
    expect(drafts.data.map((t) => t.id)).toEqual([c.id, a.id]);
    const marketing = (await (await tenant.api("/v1/templates?kind=marketing")).json()) as Page;
    expect(marketing.data.map((t) => t.id)).toEqual([b.id]);
    const none = (await (
      await tenant.api("/v1/templates?status=approved&kind=verification")
    ).json()) as Page;
    expect(none).toEqual({ data: [], next_cursor: null });

    const first = (await (await tenant.api("/v1/templates?limit=2")).json()) as Page;
    expect(first.data.map((t) => t.id)).toEqual([c.id, b.id]);
    expect(first.next_cursor).toBe(b.id);
    const rest = (await (
      await tenant.api(`/v1/templates?limit=2&cursor=${first.next_cursor}`)
    ).json()) as Page;
    expect(rest).toMatchObject({ data: [{ id: a.id }], next_cursor: null });
  });

  it("filters by the latest version's status", async () => {
    const tenant = await createTenant();
    const first = await approved(tenant);
    await patch(tenant, first.id, { body: "Code {{code}} for {{minutes}} min" });
    const res = await tenant.api("/v1/templates?status=approved");
    expect(((await res.json()) as Page).data).toEqual([]);
    const drafts = (await (await tenant.api("/v1/templates?status=draft")).json()) as Page;
    expect(drafts.data.map((t) => [t.id, t.version, t.approved_version])).toEqual([
      [first.id, 2, 1],
    ]);
  });
});

describe("DELETE /v1/templates/{id} (happy)", () => {
  it("deletes an approved template: 204, then 404, and it no longer serves", async () => {
    const tenant = await createTenant();
    const first = await approved(tenant);
    expect((await servingTemplate(env, tenant.id, first.id)).version).toBe(1);

    const res = await tenant.api(`/v1/templates/${first.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await tenant.api(`/v1/templates/${first.id}`)).status).toBe(404);
    await expect(servingTemplate(env, tenant.id, first.id)).rejects.toThrow(/No template/);
    const versions = await env.DB.prepare(
      "SELECT count(*) AS n FROM template_versions WHERE template_id = ?",
    )
      .bind(first.id)
      .first<{ n: number }>();
    expect(versions?.n).toBe(0);
  });
});
