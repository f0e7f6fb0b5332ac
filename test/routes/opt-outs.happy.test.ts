import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { form, signedIn } from "../support/dashboard";
import { expectProblem } from "../support/problem";
import { approvedTemplate, CODE_TEMPLATE } from "../support/templates";
import { call, createTenant, eventually, postJson, type TestTenant } from "../support/tenants";

const PHONE = "+8613800138111";

async function suppress(tenant: TestTenant, phone = PHONE, reason?: string) {
  return tenant.api("/v1/opt-outs", postJson({ phone, ...(reason ? { reason } : {}) }));
}

async function auditActions(tenantId: string): Promise<{ action: string; target: string }[]> {
  const { results } = await env.DB.prepare(
    "SELECT action, target FROM audit_entries WHERE tenant_id = ? ORDER BY seq",
  )
    .bind(tenantId)
    .all<{ action: string; target: string }>();
  return results;
}

async function deliveriesOf(
  endpointId: string,
): Promise<{ event_type: string; payload: string }[]> {
  const { results } = await env.DB.prepare(
    "SELECT event_type, payload FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY created_at, event_type",
  )
    .bind(endpointId)
    .all<{ event_type: string; payload: string }>();
  return results;
}

async function subscribe(tenant: TestTenant): Promise<string> {
  const created = await tenant.api(
    "/v1/webhooks",
    postJson({
      url: "https://hooks.example.com/opt-outs",
      events: ["opt_out.created", "opt_out.removed"],
    }),
  );
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

describe("manual opt-outs", () => {
  it("suppresses a number: listed, audited, and a send to it is a 422 naming the rule and number", async () => {
    const tenant = await createTenant();
    const added = await suppress(tenant, "13800138111", "asked by phone");
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({
      phone: PHONE,
      source: "manual",
      reason: "asked by phone",
      inbound_id: null,
    });

    const list = await tenant.api("/v1/opt-outs");
    expect(list.status).toBe(200);
    const page = (await list.json()) as { data: { phone: string }[]; next_cursor: null };
    expect(page.data.map((o) => o.phone)).toEqual([PHONE]);
    expect(page.next_cursor).toBeNull();

    const refused = await tenant.api("/v1/messages", postJson({ to: PHONE, body: "Hello" }));
    const problem = await expectProblem(refused, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      pointers: ["/to"],
    });
    expect(problem.detail).toContain(PHONE);
    expect(problem.detail).toMatch(/opt-out rule/);

    const other = await tenant.api("/v1/messages", postJson({ to: "+8613800138112", body: "Hi" }));
    expect(other.status).toBe(202);
    expect(await auditActions(tenant.id)).toContainEqual({
      action: "opt_out.create",
      target: PHONE,
    });
  });

  it("answers 200 with the opt-out already there, changing nothing and auditing nothing", async () => {
    const tenant = await createTenant();
    expect((await suppress(tenant, PHONE, "first")).status).toBe(201);
    const again = await suppress(tenant, PHONE, "second");
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ reason: "first" });
    const creates = (await auditActions(tenant.id)).filter((e) => e.action === "opt_out.create");
    expect(creates).toHaveLength(1);
  });

  it("replays a create under the same Idempotency-Key", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "opt-1" };
    const first = await tenant.api("/v1/opt-outs", postJson({ phone: PHONE }, headers));
    const second = await tenant.api("/v1/opt-outs", postJson({ phone: PHONE }, headers));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const other = await tenant.api("/v1/opt-outs", postJson({ phone: "+8613800138999" }, headers));
    expect(other.status).toBe(422);
  });

  it("removes an opt-out: sends go again, the removal is audited, a second removal is a 404", async () => {
    const tenant = await createTenant();
    await suppress(tenant);
    expect((await tenant.api("/v1/messages", postJson({ to: PHONE, body: "x" }))).status).toBe(422);
    const removed = await tenant.api(`/v1/opt-outs/${encodeURIComponent(PHONE)}`, {
      method: "DELETE",
    });
    expect(removed.status).toBe(204);
    expect((await tenant.api("/v1/messages", postJson({ to: PHONE, body: "x" }))).status).toBe(202);
    expect(await auditActions(tenant.id)).toContainEqual({
      action: "opt_out.remove",
      target: PHONE,
    });
    const again = await tenant.api(`/v1/opt-outs/${encodeURIComponent(PHONE)}`, {
      method: "DELETE",
    });
    await expectProblem(again, {
      status: 404,
      slug: "not-found",
      instance: `/v1/opt-outs/${encodeURIComponent(PHONE)}`,
    });
  });

  it("filters the list by number and pages it newest first", async () => {
    const tenant = await createTenant();
    for (const n of [1, 2, 3]) {
      expect((await suppress(tenant, `+861380013820${n}`)).status).toBe(201);
    }
    const one = await tenant.api("/v1/opt-outs?phone=13800138202");
    const filtered = (await one.json()) as { data: { phone: string }[] };
    expect(filtered.data.map((o) => o.phone)).toEqual(["+8613800138202"]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await tenant.api(`/v1/opt-outs?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: { phone: string }[]; next_cursor: string | null };
      seen.push(...page.data.map((o) => o.phone));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(["+8613800138203", "+8613800138202", "+8613800138201"]);
  });

  it("emits opt_out.created and opt_out.removed once each", async () => {
    const tenant = await createTenant();
    const endpointId = await subscribe(tenant);
    await suppress(tenant);
    await suppress(tenant);
    await tenant.api(`/v1/opt-outs/${encodeURIComponent(PHONE)}`, { method: "DELETE" });
    const rows = await eventually(async () => {
      const found = await deliveriesOf(endpointId);
      return found.length >= 2 ? found : undefined;
    });
    expect(rows.map((r) => r.event_type).sort()).toEqual(["opt_out.created", "opt_out.removed"]);
    const removed = JSON.parse(
      rows.find((r) => r.event_type === "opt_out.removed")?.payload ?? "{}",
    );
    expect(removed).toMatchObject({
      type: "opt_out.removed",
      data: { phone: PHONE, source: "manual", removed_by: "manual" },
    });
  });
});

describe("opted-out numbers in batches and verification codes", () => {
  it("reports a batch's opted-out row as rejected with the reason, and sends the others", async () => {
    const tenant = await createTenant();
    await suppress(tenant);
    const res = await tenant.api(
      "/v1/batches",
      postJson({ body: "Sale", recipients: [{ to: "+8613800138301" }, { to: PHONE }] }),
    );
    expect(res.status).toBe(202);
    const batch = (await res.json()) as {
      accepted: number;
      rejected_rows: { row: number; reason: string }[];
    };
    expect(batch.accepted).toBe(1);
    expect(batch.rejected_rows).toHaveLength(1);
    expect(batch.rejected_rows[0]?.row).toBe(2);
    expect(batch.rejected_rows[0]?.reason).toContain(PHONE);
    expect(batch.rejected_rows[0]?.reason).toMatch(/opt-out rule/);
  });

  it("refuses a verification code to an opted-out number unless the tenant exempts them", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant, CODE_TEMPLATE);
    await suppress(tenant);
    const code = () =>
      tenant.api(
        "/v1/messages",
        postJson({ to: PHONE, template_id: templateId, variables: { code: "123456", minutes: 5 } }),
      );
    expect((await code()).status).toBe(422);

    const exempt = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ verification_opt_out_exempt: true }),
    });
    expect(exempt.status).toBe(200);
    expect(await exempt.json()).toMatchObject({ verification_opt_out_exempt: true });
    expect((await code()).status).toBe(202);
    // The exemption is for verification codes only.
    expect((await tenant.api("/v1/messages", postJson({ to: PHONE, body: "x" }))).status).toBe(422);
    const batch = await tenant.api(
      "/v1/batches",
      postJson({
        template_id: templateId,
        recipients: [{ to: PHONE, variables: { code: "1", minutes: 5 } }],
      }),
    );
    expect(batch.status).toBe(202);
    expect(await batch.json()).toMatchObject({ accepted: 1, rejected_count: 0 });
    expect(await auditActions(tenant.id)).toContainEqual({
      action: "tenant.update",
      target: "tenant",
    });
  });
});

describe("the dashboard's send page", () => {
  it("refuses a message to an opted-out number, saying why", async () => {
    const tenant = await createTenant();
    await suppress(tenant);
    const { cookie, csrf } = await signedIn(tenant, "operator");
    const res = await call(
      "/dashboard/send",
      null,
      form({ csrf, to: "13800138111", body: "from the dashboard" }, cookie),
    );
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("has opted out of your messages");
    const list = (await (await tenant.api("/v1/messages")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });
});

describe("the tenant's opt-out settings", () => {
  it("reads and sets the confirmation texts, and null turns them off", async () => {
    const tenant = await createTenant();
    const initial = (await (await tenant.api("/v1/tenant")).json()) as Record<string, unknown>;
    expect(initial).toMatchObject({
      verification_opt_out_exempt: false,
      opt_out_confirmation: null,
    });
    const patch = (body: unknown) =>
      tenant.api("/v1/tenant", { method: "PATCH", body: JSON.stringify(body) });
    const set = await patch({
      opt_out_confirmation: { zh: "您已退订", en: "You are unsubscribed" },
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({
      opt_out_confirmation: { zh: "您已退订", en: "You are unsubscribed" },
    });
    expect((await patch({ opt_out_confirmation: {} })).status).toBe(400);
    const off = await patch({ opt_out_confirmation: null });
    expect(await off.json()).toMatchObject({ opt_out_confirmation: null });
  });
});
