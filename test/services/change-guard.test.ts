import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { tenants } from "../../src/db/schema";
import { audited, listAuditEntries } from "../../src/services/audit/audit-log";
import { failUnlessChanged, lostRace } from "../../src/services/audit/change-guard";
import { createTenant } from "../support/tenants";

describe("the guard of a conditional audited change", () => {
  it("lets a change that changed a row commit with its entry", async () => {
    const tenant = await createTenant();
    const source = { tenantId: tenant.id, actor: { type: "key" as const, id: tenant.keyId } };
    const rename = database(env.DB)
      .update(tenants)
      .set({ name: "renamed" })
      .where(eq(tenants.id, tenant.id));
    await audited(env, source, { action: "tenant.update", target: "tenant" }, [
      rename,
      failUnlessChanged(env),
    ]);
    const entries = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    expect(entries.data).toHaveLength(1);
  });

  it("fails the batch, entry and all, when the change matched no row", async () => {
    const tenant = await createTenant();
    const source = { tenantId: tenant.id, actor: { type: "key" as const, id: tenant.keyId } };
    const noOne = database(env.DB)
      .update(tenants)
      .set({ name: "renamed" })
      .where(eq(tenants.id, "tnt_MISSING"));
    const error = await audited(env, source, { action: "tenant.update", target: "tenant" }, [
      noOne,
      failUnlessChanged(env),
    ]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(lostRace(error)).toBe(true);
    expect((await listAuditEntries(env, tenant.id, {}, { limit: 10 })).data).toEqual([]);
  });
});
