/**
 * A suspended tenant: its keys and dashboard sessions are refused with 403 tenant-suspended, its
 * dispatcher releases nothing, and on resume everything it had accepted is sent, once.
 */
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { tenants } from "../../src/db/schema";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import { signedIn } from "../support/dashboard";
import { attemptsOf, statusOf } from "../support/messages";
import { platform, resume, suspend } from "../support/platform";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, postJson } from "../support/tenants";

const patch = (body: unknown): RequestInit => ({
  method: "PATCH",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

describe("a suspended tenant", () => {
  it("has its keys refused with 403 until resumed", async () => {
    const tenant = await createTenant();
    expect((await tenant.api("/v1/tenant")).status).toBe(200);
    expect((await suspend(tenant.id)).status).toBe(200);

    for (const path of ["/v1/tenant", "/v1/keys"]) {
      await expectProblem(await tenant.api(path), {
        status: 403,
        slug: "tenant-suspended",
        instance: path,
        detail: /suspended/,
      });
    }
    await expectProblem(
      await tenant.api("/v1/messages", postJson({ to: "+12025550123", body: "hi" })),
      { status: 403, slug: "tenant-suspended", instance: "/v1/messages" },
    );

    expect((await resume(tenant.id)).status).toBe(200);
    expect((await tenant.api("/v1/tenant")).status).toBe(200);
  });

  it("has its sends refused at once even where its key is still cached from before", async () => {
    const tenant = await createTenant();
    // Cached in this isolate, then suspended as another isolate would: the row and the dispatcher
    // change, this isolate's cache does not.
    expect((await tenant.api("/v1/tenant")).status).toBe(200);
    const [row] = await database(env.DB)
      .update(tenants)
      .set({ suspendedAt: Date.now(), settingsVersion: sql`${tenants.settingsVersion} + 1` })
      .where(eq(tenants.id, tenant.id))
      .returning();
    await dispatcherOf(env, tenant.id).configure({
      tenantId: tenant.id,
      settingsVersion: row?.settingsVersion ?? 0,
      suspended: true,
    });

    await expectProblem(
      await tenant.api("/v1/messages", postJson({ to: "+12025550123", body: "hi" })),
      { status: 403, slug: "tenant-suspended", instance: "/v1/messages" },
    );
    const { count } = (await env.DB.prepare(
      "SELECT COUNT(*) AS count FROM messages WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .first<{ count: number }>()) ?? { count: -1 };
    expect(count).toBe(0);
  });

  it("has its dashboard sessions refused with 403 until resumed", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "admin");
    expect((await call("/dashboard", null, { headers: { cookie } })).status).toBe(200);

    await suspend(tenant.id);
    await expectProblem(await call("/dashboard", null, { headers: { cookie } }), {
      status: 403,
      slug: "tenant-suspended",
      instance: "/dashboard",
    });

    await resume(tenant.id);
    expect((await call("/dashboard", null, { headers: { cookie } })).status).toBe(200);
  });

  it("keeps what it accepted queued while suspended, and sends each once after resuming", async () => {
    // Paused, so that the messages are still in the outbox when the suspension comes.
    const tenant = await createTenant({ sendRate: 0 });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await tenant.api(
        "/v1/messages",
        postJson({ to: `+1202555012${n}`, body: `message ${n}` }),
      );
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    expect((await suspend(tenant.id)).status).toBe(200);
    // The platform lifts the pause; the suspension still holds everything back.
    const unpaused = await platform(`/v1/platform/tenants/${tenant.id}`, patch({ send_rate: 50 }));
    expect(unpaused.status).toBe(200);
    await dispatcherOf(env, tenant.id).wake();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const id of ids) {
      expect(await attemptsOf(id)).toEqual([]);
      expect(["queued", undefined]).toContain(await statusOf(id));
    }

    expect((await resume(tenant.id)).status).toBe(200);
    for (const id of ids) {
      await eventually(
        async () => ((await statusOf(id)) === "delivered" ? true : undefined),
        10_000,
        `${id} delivered`,
      );
      expect((await attemptsOf(id)).length).toBe(1);
    }
  });
});
