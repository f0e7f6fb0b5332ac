import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { invitationIdOf } from "../../src/services/accounts/invitations";
import { listAuditEntries, verifyAuditChain } from "../../src/services/audit/audit-log";
import { platform, platformTenant, resume, suspend } from "../support/platform";
import { call, postJson } from "../support/tenants";

const patch = (body: unknown): RequestInit => ({
  method: "PATCH",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

async function entriesOf(tenantId: string) {
  return (await listAuditEntries(env, tenantId, {}, { limit: 100 })).data.reverse();
}

describe("POST /v1/platform/tenants", () => {
  it("creates a working tenant, its invited owner and a live admin key, audited in its own chain", async () => {
    const email = `Owner-${crypto.randomUUID()}@Example.com`;
    const created = await platformTenant({ name: "Acme Ltd", owner_email: email, send_rate: 20 });

    expect(created.tenant).toMatchObject({
      name: "Acme Ltd",
      home_country: "CN",
      allowed_countries: ["CN", "US"],
      send_rate: 20,
      currency: "USD",
      suspended_at: null,
    });
    expect(created.tenant.id).toMatch(/^tnt_/);
    expect(created.owner).toMatchObject({ email: email.toLowerCase(), role: "owner" });
    expect(created.api_key).toMatchObject({ mode: "live", scopes: ["admin"] });
    expect(created.api_key.key).toMatch(/^rbx_live_[A-Za-z0-9]{32}$/);

    // The invitation link leads to the dashboard and names a real invitation.
    const url = new URL(created.owner.invitation_url ?? "");
    expect(url.pathname).toMatch(/^\/dashboard\/invitations\//);
    const token = decodeURIComponent(url.pathname.split("/").at(-1) ?? "");
    const invitationId = await invitationIdOf(env, token);
    const invitation = await env.DB.prepare(
      "SELECT i.tenant_id, u.role, u.status, u.email FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.id = ?",
    )
      .bind(invitationId)
      .first();
    expect(invitation).toEqual({
      tenant_id: created.tenant.id,
      role: "owner",
      status: "invited",
      email: email.toLowerCase(),
    });

    // The key works, and the sandbox provider sends: a message is accepted (to the US: a Chinese
    // route needs the signature the tenant submits for review first).
    const key = created.api_key.key ?? "";
    expect((await call("/v1/tenant", key)).status).toBe(200);
    const sent = await call("/v1/messages", key, postJson({ to: "+12025550123", body: "hi" }));
    expect(sent.status).toBe(202);

    const [entry, ...others] = await entriesOf(created.tenant.id);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      seq: 1,
      actorType: "platform",
      actorId: "platform",
      action: "tenant.create",
      target: created.tenant.id,
    });
    expect(JSON.parse(entry?.diff ?? "{}")).toMatchObject({
      name: { to: "Acme Ltd" },
      owner_email: { to: email.toLowerCase() },
      api_key_id: { to: created.api_key.id },
    });
    expect(await verifyAuditChain(env, created.tenant.id)).toMatchObject({
      valid: true,
      entries: 1,
    });
  });

  it("replays the creation for the same Idempotency-Key without the secrets", async () => {
    const headers = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const body = { name: "Once", home_country: "GB", owner_email: `${crypto.randomUUID()}@x.io` };
    const first = await platform("/v1/platform/tenants", postJson(body, headers));
    expect(first.status).toBe(201);
    const again = await platform("/v1/platform/tenants", postJson(body, headers));
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [await first.json(), await again.json()] as {
      tenant: { id: string };
      api_key: { key: string | null };
      owner: { invitation_url: string | null };
    }[];
    expect(b?.tenant.id).toBe(a?.tenant.id);
    expect(a?.api_key.key).toEqual(expect.any(String));
    expect(b?.api_key.key).toBeNull();
    expect(b?.owner.invitation_url).toBeNull();
  });
});

describe("GET /v1/platform/tenants", () => {
  it("lists every tenant newest first, a page at a time", async () => {
    const older = await platformTenant();
    const newer = await platformTenant();
    const first = await platform("/v1/platform/tenants?limit=1");
    expect(first.status).toBe(200);
    const page = (await first.json()) as { data: { id: string }[]; next_cursor: string | null };
    expect(page.data).toHaveLength(1);
    expect(page.next_cursor).toEqual(expect.any(String));

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await platform(
        `/v1/platform/tenants?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      );
      const body = (await res.json()) as { data: { id: string }[]; next_cursor: string | null };
      ids.push(...body.data.map((t) => t.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(ids.indexOf(newer.tenant.id)).toBeLessThan(ids.indexOf(older.tenant.id));
    expect(ids.indexOf(older.tenant.id)).toBeGreaterThanOrEqual(0);
  });

  it("gets one tenant", async () => {
    const created = await platformTenant({ name: "Single" });
    const res = await platform(`/v1/platform/tenants/${created.tenant.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: created.tenant.id, name: "Single" });
  });
});

describe("PATCH, suspend and resume", () => {
  it("changes the platform-managed settings and records the diff", async () => {
    const created = await platformTenant({ send_rate: 50 });
    const res = await platform(
      `/v1/platform/tenants/${created.tenant.id}`,
      patch({ send_rate: 7, allowed_countries: ["CN", "CN", "GB"] }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      send_rate: 7,
      allowed_countries: ["CN", "GB"],
      name: "Acme",
    });
    const last = (await entriesOf(created.tenant.id)).at(-1);
    expect(last).toMatchObject({ action: "tenant.update", actorType: "platform" });
    expect(JSON.parse(last?.diff ?? "{}")).toEqual({
      send_rate: { from: 50, to: 7 },
      allowed_countries: { from: ["CN", "US"], to: ["CN", "GB"] },
    });
    // The tenant sees the change on its own settings.
    const own = await call("/v1/tenant", created.api_key.key ?? "");
    expect(await own.json()).toMatchObject({ send_rate: 7 });
  });

  it("suspends and resumes, each once in the audit log, and the chain verifies", async () => {
    const created = await platformTenant();
    const id = created.tenant.id;
    const suspended = await suspend(id);
    expect(suspended.status).toBe(200);
    expect(((await suspended.json()) as { suspended_at: string }).suspended_at).toEqual(
      expect.any(String),
    );
    // Again: nothing changes, nothing is recorded.
    expect((await suspend(id)).status).toBe(200);
    const resumed = await resume(id);
    expect(await resumed.json()).toMatchObject({ id, suspended_at: null });
    expect((await resume(id)).status).toBe(200);

    expect((await entriesOf(id)).map((e) => e.action)).toEqual([
      "tenant.create",
      "tenant.suspend",
      "tenant.resume",
    ]);
    expect(await verifyAuditChain(env, id)).toMatchObject({ valid: true, entries: 3 });
  });
});
