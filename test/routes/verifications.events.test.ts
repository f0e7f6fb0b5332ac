/**
 * Issue 16's events: `verification.approved` when a check approves a code, `verification.expired`
 * when a pending verification's time passes (seen by a check, by the tenant's limiter's own alarm,
 * or by the cron sweep for what D1 still has pending), each once per verification, to the
 * tenant's endpoints subscribed to it.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Caller } from "../../src/domain/caller";
import { loadTenant } from "../../src/services/accounts/tenants";
import {
  checkVerification,
  expireDueVerifications,
  startVerification,
} from "../../src/services/verifications/verifications";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import { flushVerifications } from "../support/verifications";
import { createEndpoint, deliveriesOf } from "../support/webhooks";

const EVENTS = ["verification.approved", "verification.expired"] as const;

async function callerOf(tenant: TestTenant): Promise<Caller> {
  const config = await loadTenant(env, tenant.id);
  if (!config) {
    throw new Error(`no tenant ${tenant.id}`);
  }
  return { keyId: tenant.keyId, mode: "test", scopes: ["admin"], tenant: config };
}

/** A tenant with one endpoint subscribed to both verification events. */
async function subscribed(): Promise<{ tenant: TestTenant; endpointId: string }> {
  const tenant = await createTenant();
  const endpoint = await createEndpoint(tenant, { events: [...EVENTS] });
  return { tenant, endpointId: endpoint.id };
}

/** The events the endpoint got, as their payloads. */
async function eventsAt(endpointId: string) {
  return (await deliveriesOf(endpointId)).map(
    (row) =>
      JSON.parse(row.payload) as {
        type: string;
        data: { id: string; status: string; to: string };
      },
  );
}

describe("verification events", () => {
  it("a check that approves the code sends verification.approved, once", async () => {
    const { tenant, endpointId } = await subscribed();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const to = "+14155550141";
    const started = await call("/v1/verifications", key, postJson({ to }));
    expect(started.status).toBe(201);
    const { id, sandbox_code } = (await started.json()) as { id: string; sandbox_code: string };
    for (let i = 0; i < 2; i++) {
      const checked = await call(
        "/v1/verifications/check",
        key,
        postJson({ id, code: sandbox_code }),
      );
      expect(checked.status).toBe(200);
    }
    await flushVerifications(tenant.id);
    expect(await eventsAt(endpointId)).toEqual([
      {
        type: "verification.approved",
        id: expect.any(String),
        created_at: expect.any(String),
        data: expect.objectContaining({ id, status: "approved", to }),
      },
    ]);
  });

  it("wrong codes and a pending verification send nothing", async () => {
    const { tenant, endpointId } = await subscribed();
    const caller = await callerOf(tenant);
    const { row } = await startVerification(env, caller, { to: "+14155550142", channel: "sms" });
    await checkVerification(env, caller, { id: row.id, code: "not-it" });
    await flushVerifications(tenant.id);
    expect(await eventsAt(endpointId)).toEqual([]);
  });

  it("a check past the ttl sends verification.expired (injected clock), once", async () => {
    const { tenant, endpointId } = await subscribed();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const { row, code } = await startVerification(
      env,
      caller,
      { to: "+14155550143", channel: "sms", ttl_seconds: 60 },
      t0,
    );
    for (const at of [t0 + 60_000, t0 + 61_000]) {
      expect(await checkVerification(env, caller, { id: row.id, code }, at)).toMatchObject({
        valid: false,
        row: { status: "expired" },
      });
    }
    await flushVerifications(tenant.id);
    expect(await eventsAt(endpointId)).toEqual([
      expect.objectContaining({
        type: "verification.expired",
        data: expect.objectContaining({ id: row.id, status: "expired" }),
      }),
    ]);
  });

  it("one nobody asks about again expires by itself and sends verification.expired", async () => {
    const { tenant, endpointId } = await subscribed();
    const caller = await callerOf(tenant);
    // Started two minutes ago with a one-minute ttl: its time has passed when the limiter runs.
    const { row } = await startVerification(
      env,
      caller,
      { to: "+14155550144", channel: "sms", ttl_seconds: 60 },
      Date.now() - 120_000,
    );
    await flushVerifications(tenant.id);
    const stored = await env.DB.prepare("SELECT status FROM verifications WHERE id = ?")
      .bind(row.id)
      .first<{ status: string }>();
    expect(stored?.status).toBe("expired");
    expect(await eventsAt(endpointId)).toEqual([
      expect.objectContaining({
        type: "verification.expired",
        data: expect.objectContaining({ id: row.id, status: "expired" }),
      }),
    ]);
  });

  it("the cron sweep expires what D1 still has pending a day late, and sends the event", async () => {
    const { tenant, endpointId } = await subscribed();
    const now = Date.now();
    const id = `vrf_SWEEP${String(now).slice(-8)}${tenant.id.slice(-8)}`;
    await env.DB.prepare(
      `INSERT INTO verifications (id, tenant_id, channel, "to", recipient, country, status, code_hash,
         code_length, attempts, send_count, revision, mode, created_at, updated_at, expires_at)
       VALUES (?, ?, 'sms', '+14155550145', '+14155550145', 'US', 'pending', 'x', 6, 0, 1, 1,
         'test', ?, ?, ?)`,
    )
      .bind(id, tenant.id, now - 2 * 86_400_000, now - 2 * 86_400_000, now - 86_400_000 - 1)
      .run();
    expect(await expireDueVerifications(env, now)).toBeGreaterThanOrEqual(1);
    const stored = await env.DB.prepare("SELECT status FROM verifications WHERE id = ?")
      .bind(id)
      .first<{ status: string }>();
    expect(stored?.status).toBe("expired");
    expect(await eventsAt(endpointId)).toEqual([
      expect.objectContaining({
        type: "verification.expired",
        data: expect.objectContaining({ id, status: "expired" }),
      }),
    ]);
  });
});
