import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { expectProblem } from "../support/problem";
import { expectForeignLikeMissing, expectScopeRefused } from "../support/route-checks";
import { approvedTemplate } from "../support/templates";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import { createEndpoint } from "../support/webhooks";

const MISSING_ARR = "arr_01JD0000000000000000000000";
const MISSING_FWD = "fwd_01JD0000000000000000000000";

async function auditOf(tenant: TestTenant) {
  const page = await listAuditEntries(env, tenant.id, {}, { limit: 20 });
  return page.data.map((entry) => ({
    action: entry.action,
    target: entry.target,
    actor: entry.actorId,
    diff: JSON.parse(entry.diff) as Record<string, unknown>,
  }));
}

describe("/v1/auto-replies", () => {
  it("creates, reads, changes and deletes SMS rules, each change in the audit log", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant);
    const created = await tenant.api(
      "/v1/auto-replies",
      postJson({
        match: "exact",
        keyword: " 价格 ",
        reply: { type: "text", content: "¥99" },
        active_window: { days: [1, 2, 3, 4, 5], start: "09:00", end: "18:00" },
      }),
    );
    expect(created.status).toBe(201);
    const rule = (await created.json()) as Record<string, unknown> & { id: string };
    expect(rule).toMatchObject({
      match: "exact",
      keyword: "价格",
      reply: { type: "text", content: "¥99" },
      priority: 100,
      active_window: { days: [1, 2, 3, 4, 5], start: "09:00", end: "18:00" },
    });
    expect(rule.id).toMatch(/^arr_/);

    const patched = await tenant.api(`/v1/auto-replies/${rule.id}`, {
      method: "PATCH",
      body: JSON.stringify({
        priority: 5,
        reply: {
          type: "template",
          template_id: templateId,
          variables: { code: "1234", minutes: "5" },
        },
        active_window: null,
      }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      priority: 5,
      reply: { type: "template", template_id: templateId },
      active_window: null,
    });
    const list = (await (await tenant.api("/v1/auto-replies")).json()) as {
      data: { id: string }[];
      next_cursor: null;
    };
    expect(list.data.map((r) => r.id)).toEqual([rule.id]);
    expect(list.next_cursor).toBeNull();
    expect((await tenant.api(`/v1/auto-replies/${rule.id}`)).status).toBe(200);
    expect((await tenant.api(`/v1/auto-replies/${rule.id}`, { method: "DELETE" })).status).toBe(
      204,
    );
    expect((await tenant.api(`/v1/auto-replies/${rule.id}`)).status).toBe(404);

    const audit = (await auditOf(tenant)).filter((e) => e.action.startsWith("auto_reply."));
    expect(audit.map((e) => e.action)).toEqual([
      "auto_reply.delete",
      "auto_reply.update",
      "auto_reply.create",
    ]);
    expect(audit.every((e) => e.target === rule.id && e.actor === tenant.keyId)).toBe(true);
    expect(audit[1]?.diff).toMatchObject({ priority: { from: 100, to: 5 } });
    expect(audit[2]?.diff).toMatchObject({ keyword: { to: "价格" } });
  });

  it("refuses a template that is not approved (422) and a malformed rule (400)", async () => {
    const tenant = await createTenant();
    const draft = await tenant.api(
      "/v1/templates",
      postJson({ name: "Draft", kind: "notification", body: "Hello", variables: [] }),
    );
    const { id: draftId } = (await draft.json()) as { id: string };
    await expectProblem(
      await tenant.api(
        "/v1/auto-replies",
        postJson({
          match: "exact",
          keyword: "x",
          reply: { type: "template", template_id: draftId },
        }),
      ),
      {
        instance: "/v1/auto-replies",
        status: 422,
        slug: "unprocessable-entity",
        pointers: ["/reply/template_id"],
      },
    );
    await expectProblem(
      await tenant.api(
        "/v1/auto-replies",
        postJson({ match: "default", keyword: "x", reply: { type: "text", content: "y" } }),
      ),
      { instance: "/v1/auto-replies", status: 400, slug: "validation-error" },
    );
    await expectProblem(
      await tenant.api(
        "/v1/auto-replies",
        postJson({
          match: "exact",
          keyword: "x",
          reply: { type: "text", content: "y" },
          active_window: { days: [8], start: "9:00", end: "18:00" },
        }),
      ),
      { instance: "/v1/auto-replies", status: 400, slug: "validation-error" },
    );
    expect((await auditOf(tenant)).filter((e) => e.action.startsWith("auto_reply."))).toEqual([]);
  });

  it("reads with content:read, changes with content:write, and hides other tenants' rules", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const created = await owner.api(
      "/v1/auto-replies",
      postJson({ match: "contains", keyword: "help", reply: { type: "text", content: "hi" } }),
    );
    const { id } = (await created.json()) as { id: string };
    const reader = await owner.addKey(["content:read"]);
    expect((await call("/v1/auto-replies", reader.key)).status).toBe(200);
    await expectScopeRefused(
      reader.key,
      {
        path: "/v1/auto-replies",
        init: postJson({ match: "exact", keyword: "a", reply: { type: "text", content: "b" } }),
      },
      "content:write",
    );
    for (const init of [
      {},
      { method: "PATCH", body: JSON.stringify({ priority: 1 }) },
      { method: "DELETE" },
    ]) {
      await expectForeignLikeMissing(
        stranger,
        { path: (rule) => `/v1/auto-replies/${rule}`, init },
        { foreign: id, missing: MISSING_ARR },
      );
    }
    const theirs = (await (await stranger.api("/v1/auto-replies")).json()) as { data: unknown[] };
    expect(theirs.data).toEqual([]);
    expect((await owner.api(`/v1/auto-replies/${id}`)).status).toBe(200);
  });
});

describe("/v1/forwarding-rules", () => {
  it("creates, changes and deletes rules to a phone or an endpoint, each change audited", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant);
    const created = await tenant.api(
      "/v1/forwarding-rules",
      postJson({ match: "all", target_type: "phone", target: "+86 138 0013 8000" }),
    );
    expect(created.status).toBe(201);
    const rule = (await created.json()) as { id: string };
    expect(rule).toMatchObject({ match: "all", keyword: null, target: "+8613800138000" });
    expect(rule.id).toMatch(/^fwd_/);
    const patched = await tenant.api(`/v1/forwarding-rules/${rule.id}`, {
      method: "PATCH",
      body: JSON.stringify({
        match: "prefix",
        keyword: "JD",
        target_type: "webhook",
        target: endpoint.id,
      }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      match: "prefix",
      keyword: "JD",
      target_type: "webhook",
      target: endpoint.id,
    });
    expect((await tenant.api(`/v1/forwarding-rules/${rule.id}`, { method: "DELETE" })).status).toBe(
      204,
    );
    const audit = (await auditOf(tenant)).filter((e) => e.action.startsWith("forwarding_rule."));
    expect(audit.map((e) => e.action)).toEqual([
      "forwarding_rule.delete",
      "forwarding_rule.update",
      "forwarding_rule.create",
    ]);
    expect(audit[1]?.diff).toMatchObject({
      target_type: { from: "phone", to: "webhook" },
      target: { from: "+8613800138000", to: endpoint.id },
    });
  });

  it("refuses a keyword rule without its keyword and a target that is not E.164", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api(
        "/v1/forwarding-rules",
        postJson({ match: "exact", target_type: "phone", target: "+8613800138000" }),
      ),
      {
        instance: "/v1/forwarding-rules",
        status: 422,
        slug: "unprocessable-entity",
        pointers: ["/keyword"],
      },
    );
    await expectProblem(
      await tenant.api(
        "/v1/forwarding-rules",
        postJson({ match: "all", target_type: "phone", target: "13800138000" }),
      ),
      {
        instance: "/v1/forwarding-rules",
        status: 422,
        slug: "unprocessable-entity",
        pointers: ["/target"],
      },
    );
  });

  it("refuses another tenant's endpoint like a missing one, and hides other tenants' rules", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const theirEndpoint = await createEndpoint(owner);
    const foreign = await expectProblem(
      await stranger.api(
        "/v1/forwarding-rules",
        postJson({ match: "all", target_type: "webhook", target: theirEndpoint.id }),
      ),
      {
        instance: "/v1/forwarding-rules",
        status: 422,
        slug: "unprocessable-entity",
        pointers: ["/target"],
      },
    );
    const missingId = "whk_01JD0000000000000000000000";
    const missing = await expectProblem(
      await stranger.api(
        "/v1/forwarding-rules",
        postJson({ match: "all", target_type: "webhook", target: missingId }),
      ),
      {
        instance: "/v1/forwarding-rules",
        status: 422,
        slug: "unprocessable-entity",
        pointers: ["/target"],
      },
    );
    expect(foreign.detail.replace(theirEndpoint.id, "<id>")).toBe(
      missing.detail.replace(missingId, "<id>"),
    );

    const created = await owner.api(
      "/v1/forwarding-rules",
      postJson({ match: "all", target_type: "webhook", target: theirEndpoint.id }),
    );
    const { id } = (await created.json()) as { id: string };
    for (const init of [
      {},
      { method: "PATCH", body: JSON.stringify({ match: "all" }) },
      { method: "DELETE" },
    ]) {
      await expectForeignLikeMissing(
        stranger,
        { path: (rule) => `/v1/forwarding-rules/${rule}`, init },
        { foreign: id, missing: MISSING_FWD },
      );
    }
    // Nor can a rule be pointed at it by a change.
    const mine = await stranger.api(
      "/v1/forwarding-rules",
      postJson({ match: "all", target_type: "phone", target: "+8613800138001" }),
    );
    const { id: mineId } = (await mine.json()) as { id: string };
    await expectProblem(
      await stranger.api(`/v1/forwarding-rules/${mineId}`, {
        method: "PATCH",
        body: JSON.stringify({ target_type: "webhook", target: theirEndpoint.id }),
      }),
      {
        instance: `/v1/forwarding-rules/${mineId}`,
        status: 422,
        slug: "unprocessable-entity",
        pointers: ["/target"],
      },
    );
  });
});
