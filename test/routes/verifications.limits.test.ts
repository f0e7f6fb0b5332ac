/** Issue 16's done-means on the limits: a second start within the minute, a sixth within the hour. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Caller } from "../../src/domain/caller";
import { ApiError } from "../../src/lib/problem";
import { loadTenant } from "../../src/services/accounts/tenants";
import { startVerification } from "../../src/services/verifications/verifications";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import { flushVerifications } from "../support/verifications";

async function callerOf(tenant: TestTenant): Promise<Caller> {
  const config = await loadTenant(env, tenant.id);
  if (!config) {
    throw new Error(`no tenant ${tenant.id}`);
  }
  return { keyId: tenant.keyId, mode: "test", scopes: ["admin"], tenant: config };
}

describe("verification limits through the API", () => {
  it("refuses a second start to a number within the minute: 429 naming number_minute, with Retry-After", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const to = "+14155550188";
    const first = await call("/v1/verifications", key, postJson({ to }));
    expect(first.status).toBe(201);
    const second = await call("/v1/verifications", key, postJson({ to }));
    expect(second.status).toBe(429);
    expect(second.headers.get("content-type")).toContain("application/problem+json");
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(second.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(await second.json()).toMatchObject({ status: 429, limit: "number_minute" });
    // Another tenant's number count is its own.
    const other = await createTenant();
    const theirs = await other.addKey(["verifications:write"], "test");
    expect((await call("/v1/verifications", theirs.key, postJson({ to }))).status).toBe(201);
  });

  it("refuses the sixth start within the hour, a minute apart each: number_hour", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const to = "+14155550189";
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) {
      await startVerification(env, caller, { to, channel: "sms" }, t0 + i * 61_000);
    }
    const sixth = startVerification(env, caller, { to, channel: "sms" }, t0 + 5 * 61_000);
    await expect(sixth).rejects.toBeInstanceOf(ApiError);
    await expect(sixth).rejects.toMatchObject({ extensions: { limit: "number_hour" } });
  });
});

describe("verification stats", () => {
  it("default to the last seven days, today included", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    expect((await call("/v1/verifications", key, postJson({ to: "+14155550190" }))).status).toBe(
      201,
    );
    // The stats read D1, which has it once the tenant's limiter has flushed its outbox.
    await flushVerifications(tenant.id);
    const res = await call("/v1/verifications/stats", key);
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: { date: string; started: number }[] };
    const today = new Date().toISOString().slice(0, 10);
    expect(data.find((d) => d.date === today)).toMatchObject({ started: 1 });
  });
});
