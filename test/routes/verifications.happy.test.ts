import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Caller } from "../../src/domain/caller";
import { loadTenant } from "../../src/services/accounts/tenants";
import {
  checkVerification,
  startVerification,
} from "../../src/services/verifications/verifications";
import {
  call,
  createTenant,
  eventually,
  messageReaches,
  postJson,
  type TestTenant,
} from "../support/tenants";
import { flushVerifications } from "../support/verifications";

const PHONE = "+14155550177";

interface Started {
  id: string;
  status: string;
  send_count: number;
  sandbox_code?: string;
}

async function testKeyOf(tenant: TestTenant): Promise<string> {
  return (await tenant.addKey(["verifications:write", "messages:read"], "test")).key;
}

async function start(key: string, body: Record<string, unknown> = {}) {
  const res = await call("/v1/verifications", key, postJson({ to: PHONE, ...body }));
  expect(res.status).toBe(201);
  return (await res.json()) as Started;
}

async function check(key: string, body: Record<string, unknown>) {
  const res = await call("/v1/verifications/check", key, postJson(body));
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; valid: boolean; attempts_left: number };
}

async function callerOf(tenant: TestTenant): Promise<Caller> {
  const config = await loadTenant(env, tenant.id);
  if (!config) {
    throw new Error(`no tenant ${tenant.id}`);
  }
  return { keyId: tenant.keyId, mode: "test", scopes: ["admin"], tenant: config };
}

describe("verifications", () => {
  it("sends a code through the sandbox and approves it once; the message is masked once final", async () => {
    const tenant = await createTenant();
    const key = await testKeyOf(tenant);
    const started = await start(key);
    expect(started).toMatchObject({ status: "pending", send_count: 1, channel: "sms", to: PHONE });
    expect(started.id).toMatch(/^vrf_/);
    const code = started.sandbox_code ?? "";
    expect(code).toMatch(/^\d{6}$/);

    expect(await check(key, { id: started.id, code })).toEqual({
      id: started.id,
      status: "approved",
      valid: true,
      attempts_left: 0,
    });
    // A code works once.
    expect(await check(key, { to: PHONE, code })).toMatchObject({
      valid: false,
      status: "approved",
    });

    // D1 has it once the tenant's limiter has flushed its outbox.
    await flushVerifications(tenant.id);
    const row = await env.DB.prepare("SELECT message_id, code_hash FROM verifications WHERE id = ?")
      .bind(started.id)
      .first<{ message_id: string; code_hash: string }>();
    expect(row?.code_hash).not.toContain(code);
    const message = await messageReaches(
      { ...tenant, api: (path, init) => call(path, key, init) },
      row?.message_id ?? "",
    );
    expect(message.kind).toBe("verification");
    const masked = await eventually(async () => {
      const logged = await env.DB.prepare("SELECT body FROM messages WHERE id = ?")
        .bind(row?.message_id)
        .first<{ body: string }>();
      return logged && !logged.body.includes(code) ? logged.body : undefined;
    });
    expect(masked).toContain("******");
  });

  it("a live key never sees sandbox_code", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/verifications", postJson({ to: PHONE }));
    expect(res.status).toBe(201);
    expect(await res.json()).not.toHaveProperty("sandbox_code");
  });

  it("five wrong codes end the verification, and then the right one does not work", async () => {
    const tenant = await createTenant();
    const key = await testKeyOf(tenant);
    const started = await start(key, { code_length: 4 });
    const code = started.sandbox_code ?? "";
    const wrong = code === "0000" ? "1111" : "0000";
    for (let left = 4; left >= 1; left--) {
      expect(await check(key, { id: started.id, code: wrong })).toEqual({
        id: started.id,
        status: "pending",
        valid: false,
        attempts_left: left,
      });
    }
    expect(await check(key, { id: started.id, code: wrong })).toMatchObject({
      status: "max_attempts_reached",
      valid: false,
    });
    expect(await check(key, { id: started.id, code })).toMatchObject({
      status: "max_attempts_reached",
      valid: false,
    });
  });

  it("a re-send inside the ttl keeps the verification and stops the old code working", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const first = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    // Past the per-number minute, inside the ttl.
    const t1 = t0 + 61_000;
    let second = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t1);
    while (second.code === first.code) {
      second = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t1 + 61_000);
    }
    expect(second.row.id).toBe(first.row.id);
    expect(second.row.sendCount).toBeGreaterThanOrEqual(2);
    const old = await checkVerification(
      env,
      caller,
      { id: first.row.id, code: first.code },
      t1 + 1,
    );
    expect(old).toMatchObject({ valid: false, row: { status: "pending" } });
    const fresh = await checkVerification(
      env,
      caller,
      { id: first.row.id, code: second.code },
      t1 + 2,
    );
    expect(fresh).toMatchObject({ valid: true, row: { status: "approved" } });
  });

  it("expires at its ttl (injected clock): the right code no longer works", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const { row, code } = await startVerification(
      env,
      caller,
      { to: PHONE, channel: "sms", ttl_seconds: 60 },
      t0,
    );
    const before = await checkVerification(env, caller, { id: row.id, code: "x" }, t0 + 59_000);
    expect(before.row.status).toBe("pending");
    const after = await checkVerification(env, caller, { id: row.id, code }, t0 + 60_000);
    expect(after).toMatchObject({ valid: false, row: { status: "expired" } });
  });

  it("cancels a pending verification; its code then fails", async () => {
    const tenant = await createTenant();
    const key = await testKeyOf(tenant);
    const started = await start(key);
    const canceled = await call(`/v1/verifications/${started.id}/cancel`, key, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ status: "canceled" });
    expect(await check(key, { id: started.id, code: started.sandbox_code })).toMatchObject({
      valid: false,
      status: "canceled",
    });
  });

  it("the stats show started, sent, approved and the conversion per day", async () => {
    const tenant = await createTenant();
    const key = await testKeyOf(tenant);
    const a = await start(key, { to: "+14155550178" });
    await start(key, { to: "+14155550179" });
    await check(key, { id: a.id, code: a.sandbox_code });
    // The stats read D1, which has it once the tenant's limiter has flushed its outbox.
    await flushVerifications(tenant.id);
    const today = new Date().toISOString().slice(0, 10);
    const res = await call(`/v1/verifications/stats?from=${today}&to=${today}`, key);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: [{ date: today, started: 2, sent: 2, approved: 1, conversion_rate: 0.5, refusals: {} }],
    });
  });
});
