import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signatureText } from "../../src/services/content/signatures";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

interface Signature {
  id: string;
  name: string;
  text: string;
  status: string;
  default: boolean;
  review_reason: string | null;
  submitted_at: string | null;
  reviewed_at: string | null;
  created_at: string;
  updated_at: string;
}

interface Page {
  data: Signature[];
  next_cursor: string | null;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FIELDS = [
  "created_at",
  "default",
  "id",
  "name",
  "review_reason",
  "reviewed_at",
  "status",
  "submitted_at",
  "text",
  "updated_at",
];

async function create(tenant: TestTenant, name: string): Promise<Signature> {
  const res = await tenant.api("/v1/signatures", postJson({ name }));
  expect(res.status).toBe(201);
  return (await res.json()) as Signature;
}

async function act(tenant: TestTenant, id: string, action: string, body?: unknown) {
  const res = await tenant.api(
    `/v1/signatures/${id}/${action}`,
    body === undefined ? { method: "POST" } : postJson(body),
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Signature;
}

async function approved(tenant: TestTenant, name: string): Promise<Signature> {
  const created = await create(tenant, name);
  await act(tenant, created.id, "submit");
  return act(tenant, created.id, "approve");
}

async function read(tenant: TestTenant, id: string): Promise<Signature> {
  const res = await tenant.api(`/v1/signatures/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Signature;
}

async function tenantSignature(tenant: TestTenant): Promise<string | null> {
  const res = await tenant.api("/v1/tenant");
  expect(res.status).toBe(200);
  return ((await res.json()) as { signature: string | null }).signature;
}

/** Test tenants start with 【Relaybox】 as their default; some tests need none. */
async function withoutDefault(tenant: TestTenant) {
  await env.DB.prepare("UPDATE tenants SET signature = NULL WHERE id = ?").bind(tenant.id).run();
}

describe("signatureText", () => {
  it("puts the name between full-width brackets", () => {
    expect(signatureText("Relaybox")).toBe("【Relaybox】");
    expect(signatureText("中继盒")).toBe("【中继盒】");
  });
});

describe("POST /v1/signatures (happy)", () => {
  it("creates a draft showing its text in brackets, not the default", async () => {
    const tenant = await createTenant();
    const before = Date.now();
    const res = await tenant.api("/v1/signatures", postJson({ name: "  Acme 商城  " }));
    expect(res.status).toBe(201);
    const created = (await res.json()) as Signature;
    expect(Object.keys(created).sort()).toEqual(FIELDS);
    expect(created).toMatchObject({
      name: "Acme 商城",
      text: "【Acme 商城】",
      status: "draft",
      default: false,
      review_reason: null,
      submitted_at: null,
      reviewed_at: null,
    });
    expect(created.id).toMatch(/^sig_[0-9A-Z]{26}$/);
    expect(Date.parse(created.created_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(created.updated_at).toBe(created.created_at);
    expect(await read(tenant, created.id)).toEqual(created);
  });

  it("creates one signature for a repeated Idempotency-Key", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "sig-1" };
    const first = await tenant.api("/v1/signatures", postJson({ name: "Acme" }, headers));
    const second = await tenant.api("/v1/signatures", postJson({ name: "Acme" }, headers));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await second.json()).toEqual(await first.json());
  });
});

describe("Signature review (happy)", () => {
  it("takes a signature from draft through pending_review to approved", async () => {
    const tenant = await createTenant();
    const reviewer = await tenant.addKey(["templates:review"]);
    const created = await create(tenant, "Acme");
    const submitted = await act(tenant, created.id, "submit");
    expect(submitted).toMatchObject({ status: "pending_review", review_reason: null });
    expect(submitted.submitted_at).toMatch(ISO_TIME);

    const res = await call(`/v1/signatures/${created.id}/approve`, reviewer.key, {
      method: "POST",
    });
    expect(res.status).toBe(200);
    const done = (await res.json()) as Signature;
    expect(done.status).toBe("approved");
    expect(done.reviewed_at).toMatch(ISO_TIME);
    // The tenant already signs with 【Relaybox】: approving does not replace it.
    expect(done.default).toBe(false);
    expect(await tenantSignature(tenant)).toBe("【Relaybox】");
  });

  it("makes the first signature approved while the tenant has none its default", async () => {
    const tenant = await createTenant();
    await withoutDefault(tenant);
    const first = await approved(tenant, "Acme");
    expect(first.default).toBe(true);
    expect(await tenantSignature(tenant)).toBe("【Acme】");

    const second = await approved(tenant, "Acme Shop");
    expect(second.default).toBe(false);
    expect(await tenantSignature(tenant)).toBe("【Acme】");
  });

  it("makes an approved signature the default on request, and only it shows as default", async () => {
    const tenant = await createTenant();
    const acme = await approved(tenant, "Acme");
    const shop = await approved(tenant, "Acme Shop");

    const made = await act(tenant, shop.id, "default");
    expect(made).toMatchObject({ id: shop.id, default: true, status: "approved" });
    expect(await tenantSignature(tenant)).toBe("【Acme Shop】");
    expect((await read(tenant, acme.id)).default).toBe(false);

    await act(tenant, acme.id, "default");
    const page = (await (await tenant.api("/v1/signatures")).json()) as Page;
    expect(page.data.map((s) => [s.name, s.default])).toEqual([
      ["Acme Shop", false],
      ["Acme", true],
    ]);
  });

  it("rejects with the reason, and a rejected signature can be submitted again", async () => {
    const tenant = await createTenant();
    const created = await create(tenant, "Acme");
    await act(tenant, created.id, "submit");
    const rejected = await act(tenant, created.id, "reject", {
      reason: "Send the business licence first.",
    });
    expect(rejected).toMatchObject({
      status: "rejected",
      default: false,
      review_reason: "Send the business licence first.",
    });
    expect(rejected.reviewed_at).toMatch(ISO_TIME);
    const again = await act(tenant, created.id, "submit");
    expect(again).toMatchObject({ status: "pending_review", review_reason: null });
  });

  it("names words that need a reviewer's look in review_reason", async () => {
    const tenant = await createTenant();
    await env.DB.prepare(
      "INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at) VALUES (?, ?, ?, ?, ?)",
    )
      .bind(`sw_${crypto.randomUUID()}`, tenant.id, "官方", "review", Date.now())
      .run();
    const created = await create(tenant, "官方商城");
    const submitted = await act(tenant, created.id, "submit");
    expect(submitted.status).toBe("pending_review");
    expect(submitted.review_reason).toMatch(/官方/);
  });
});

describe("DELETE /v1/signatures/{id} (happy)", () => {
  it("deleting the default leaves the tenant without one", async () => {
    const tenant = await createTenant();
    const acme = await approved(tenant, "Acme");
    await act(tenant, acme.id, "default");
    expect(await tenantSignature(tenant)).toBe("【Acme】");

    const res = await tenant.api(`/v1/signatures/${acme.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await tenant.api(`/v1/signatures/${acme.id}`)).status).toBe(404);
    expect(await tenantSignature(tenant)).toBeNull();
  });

  it("deleting a signature that is not the default leaves the default alone", async () => {
    const tenant = await createTenant();
    const draft = await create(tenant, "Relaybox");
    expect(draft.default).toBe(false);
    expect((await tenant.api(`/v1/signatures/${draft.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await tenantSignature(tenant)).toBe("【Relaybox】");
  });
});

describe("GET /v1/signatures (happy)", () => {
  it("lists newest first, filters by status and pages with a cursor", async () => {
    const tenant = await createTenant();
    const a = await create(tenant, "Alpha");
    const b = await approved(tenant, "Bravo");
    const c = await create(tenant, "Charlie");

    const all = (await (await tenant.api("/v1/signatures")).json()) as Page;
    expect(all.data.map((s) => s.id)).toEqual([c.id, b.id, a.id]);
    expect(all.next_cursor).toBeNull();
    for (const listed of all.data) {
      expect(Object.keys(listed).sort()).toEqual(FIELDS);
    }
    const drafts = (await (await tenant.api("/v1/signatures?status=draft")).json()) as Page;
    expect(drafts.data.map((s) => s.id)).toEqual([c.id, a.id]);

    const first = (await (await tenant.api("/v1/signatures?limit=2")).json()) as Page;
    expect(first.data.map((s) => s.id)).toEqual([c.id, b.id]);
    expect(first.next_cursor).toBe(b.id);
    const rest = (await (
      await tenant.api(`/v1/signatures?limit=2&cursor=${first.next_cursor}`)
    ).json()) as Page;
    expect(rest).toMatchObject({ data: [{ id: a.id }], next_cursor: null });
  });
});
