import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { auditEntries, tenants } from "../../src/db/schema";
import { diffOf } from "../../src/domain/audit-chain";
import {
  type AuditSource,
  audited,
  listAuditEntries,
  verifyAuditChain,
} from "../../src/services/audit/audit-log";
import { createTenant } from "../support/tenants";

const sourceFor = (tenantId: string): AuditSource => ({
  tenantId,
  actor: { type: "key", id: "key_TEST" },
  origin: { requestId: "req_1", ip: "203.0.113.9" },
});

const rename = (tenantId: string, name: string) =>
  database(env.DB).update(tenants).set({ name }).where(eq(tenants.id, tenantId));

describe("the audit log's writer", () => {
  it("writes the change and its entry together, chained from the genesis hash", async () => {
    const tenant = await createTenant();
    const by = sourceFor(tenant.id);
    await audited(
      env,
      by,
      { action: "tenant.update", target: "tenant", diff: diffOf({ name: "a" }, { name: "b" }) },
      [rename(tenant.id, "b")],
    );
    await audited(env, by, { action: "tenant.update", target: "tenant" }, [rename(tenant.id, "c")]);

    const row = await database(env.DB).query.tenants.findFirst({
      where: eq(tenants.id, tenant.id),
    });
    expect(row?.name).toBe("c");
    const page = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    expect(page.data.map((e) => e.seq)).toEqual([2, 1]);
    const [second, first] = page.data;
    expect(first?.prevHash).toBe("0".repeat(64));
    expect(second?.prevHash).toBe(first?.hash);
    expect(first).toMatchObject({
      actorType: "key",
      actorId: "key_TEST",
      ip: "203.0.113.9",
      requestId: "req_1",
      diff: '{"name":{"from":"a","to":"b"}}',
    });
    expect(await verifyAuditChain(env, tenant.id)).toEqual({ valid: true, entries: 2 });
  });

  it("writes neither the change nor the entry when the change fails", async () => {
    const tenant = await createTenant();
    const failing = database(env.DB).insert(tenants).values({
      id: tenant.id, // already taken: the insert fails
      name: "dup",
      homeCountry: "CN",
      allowedCountries: [],
      createdAt: 0,
    });
    await expect(
      audited(env, sourceFor(tenant.id), { action: "tenant.update", target: "tenant" }, [
        rename(tenant.id, "changed"),
        failing,
      ]),
    ).rejects.toThrow();
    const row = await database(env.DB).query.tenants.findFirst({
      where: eq(tenants.id, tenant.id),
    });
    expect(row?.name).not.toBe("changed");
    expect((await listAuditEntries(env, tenant.id, {}, { limit: 10 })).data).toEqual([]);
  });

  it("keeps one unbroken line when many changes land at once", async () => {
    const tenant = await createTenant();
    const by = sourceFor(tenant.id);
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        audited(env, by, { action: "tenant.update", target: `t${i}` }, [
          rename(tenant.id, `n${i}`),
        ]),
      ),
    );
    const rows = await database(env.DB)
      .select({ seq: auditEntries.seq })
      .from(auditEntries)
      .where(eq(auditEntries.tenantId, tenant.id));
    expect(rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    expect(await verifyAuditChain(env, tenant.id)).toEqual({ valid: true, entries: 12 });
  });

  it("finds the first entry that was edited in D1, and one that was removed", async () => {
    const tenant = await createTenant();
    const by = sourceFor(tenant.id);
    for (const target of ["a", "b", "c", "d"]) {
      await audited(env, by, { action: "tenant.update", target }, []);
    }
    const page = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    const [d, c, b] = page.data;
    await env.DB.prepare("UPDATE audit_entries SET target = 'x' WHERE id = ?").bind(b?.id).run();
    expect(await verifyAuditChain(env, tenant.id)).toEqual({
      valid: false,
      entries: 4,
      firstBrokenAt: b?.id,
    });
    await env.DB.prepare("UPDATE audit_entries SET target = 'b' WHERE id = ?").bind(b?.id).run();
    expect((await verifyAuditChain(env, tenant.id)).valid).toBe(true);
    await env.DB.prepare("DELETE FROM audit_entries WHERE id = ?").bind(c?.id).run();
    expect(await verifyAuditChain(env, tenant.id)).toEqual({
      valid: false,
      entries: 3,
      firstBrokenAt: d?.id,
    });
  });

  it("writes a secret's change as only that it changed", () => {
    expect(diffOf({ secret: "old", url: "a" }, { secret: "new", url: "a" }, ["secret"])).toEqual({
      secret: { to: "(changed)" },
    });
  });
});
