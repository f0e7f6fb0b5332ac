/**
 * The tenant's VerificationLimiter as the authority on live verifications
 * (services/verifications/verifications.ts): a start records the code there and D1 gets it through
 * the object's outbox. These cover what that must never get wrong: D1 down while a start's rows
 * wait to be flushed (the code still approves; the rows land once D1 is back, counted once), a
 * check racing the flush, the send log masked when the flush lands after the message is final, and
 * a start after an approval or a cancel beginning a new verification.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { codeHash } from "../../src/delivery/verification-codes";
import {
  platformNumberLimiterOf,
  verificationLimiterOf,
} from "../../src/delivery/verification-limiters";
import type { Caller } from "../../src/domain/caller";
import { PLATFORM_NUMBER_PER_DAY } from "../../src/domain/verification-limits";
import { loadTenant } from "../../src/services/accounts/tenants";
import {
  cancelVerification,
  checkVerification,
  getVerification,
  startVerification,
} from "../../src/services/verifications/verifications";
import { createTenant, eventually, type TestTenant } from "../support/tenants";
import { flushVerifications, unflushed } from "../support/verifications";

const PHONE = "+14155550188";
const MINUTE = 61_000;

async function callerOf(tenant: TestTenant, mode: "live" | "test" = "test"): Promise<Caller> {
  const config = await loadTenant(env, tenant.id);
  if (!config) {
    throw new Error(`no tenant ${tenant.id}`);
  }
  return { keyId: tenant.keyId, mode, scopes: ["admin"], tenant: config };
}

interface StoredVerification {
  status: string;
  code_hash: string;
  send_count: number;
  message_id: string | null;
}

function stored(id: string) {
  return env.DB.prepare(
    "SELECT status, code_hash, send_count, message_id FROM verifications WHERE id = ?",
  )
    .bind(id)
    .first<StoredVerification>();
}

/** The messages to PHONE the tenant's dispatcher handed on to the send log, once `count` are. */
async function messagesTo(tenantId: string, count: number) {
  return eventually(
    async () => {
      const { results } = await env.DB.prepare(
        "SELECT id, metadata FROM messages WHERE tenant_id = ? AND recipient = ? ORDER BY id",
      )
        .bind(tenantId, PHONE)
        .all<{ id: string; metadata: string }>();
      return results.length >= count ? results : undefined;
    },
    10_000,
    `${count} messages to ${PHONE}`,
  );
}

/** D1 refuses the limiter's writes (a trigger that aborts them), until `d1Back()`. */
async function d1Down(table: "verifications" | "verification_messages"): Promise<void> {
  await env.DB.prepare(
    `CREATE TRIGGER IF NOT EXISTS test_d1_down BEFORE INSERT ON ${table}
     BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`,
  ).run();
}

async function d1Back(): Promise<void> {
  await env.DB.prepare("DROP TRIGGER IF EXISTS test_d1_down").run();
}

afterEach(d1Back);

/** The rollups' verification counters of the tenant, by metric. */
async function counters(tenantId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    "SELECT metric, SUM(n) AS n FROM stat_counters WHERE tenant_id = ? AND metric LIKE 'verification_%' GROUP BY metric",
  )
    .bind(tenantId)
    .all<{ metric: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.metric, r.n]));
}

describe("the limiter's outbox to D1", () => {
  it("with D1 down, a start answers and its code approves; the rows land once D1 is back, counted once", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    await d1Down("verifications");
    const t0 = Date.now();
    const started = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    expect(started.row).toMatchObject({ status: "pending", sendCount: 1 });
    // The flush fails and is kept.
    await runDurableObjectAlarm(verificationLimiterOf(env, tenant.id, "test"));
    expect(await unflushed(tenant.id)).toBeGreaterThan(0);
    expect(await stored(started.row.id)).toBeNull();

    const approved = await checkVerification(
      env,
      caller,
      { id: started.row.id, code: started.code },
      t0 + 1,
    );
    expect(approved).toMatchObject({ valid: true, row: { status: "approved" } });
    expect((await getVerification(env, caller, started.row.id, t0 + 2)).status).toBe("approved");

    await d1Back();
    await flushVerifications(tenant.id);
    expect(await stored(started.row.id)).toMatchObject({
      status: "approved",
      send_count: 1,
      message_id: started.row.messageId,
    });
    // A flush run again changes nothing and counts nothing twice.
    await flushVerifications(tenant.id);
    expect(await counters(tenant.id)).toEqual({
      verification_sent: 1,
      verification_check: 1,
      verification_approved: 1,
    });
  });

  it("a check racing the flush: D1 ends with the check's answer, and a read never shows less", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const started = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    const wrong = started.code === "000000" ? "111111" : "000000";
    const [, checked] = await Promise.all([
      runDurableObjectAlarm(verificationLimiterOf(env, tenant.id, "test")),
      checkVerification(env, caller, { id: started.row.id, code: wrong }, t0 + 1),
    ]);
    expect(checked).toMatchObject({ valid: false, row: { status: "pending", attempts: 1 } });
    expect(await getVerification(env, caller, started.row.id, t0 + 2)).toMatchObject({
      attempts: 1,
    });
    const [approved] = await Promise.all([
      checkVerification(env, caller, { id: started.row.id, code: started.code }, t0 + 3),
      runDurableObjectAlarm(verificationLimiterOf(env, tenant.id, "test")),
    ]);
    expect(approved).toMatchObject({ valid: true, row: { status: "approved" } });
    expect((await getVerification(env, caller, started.row.id, t0 + 4)).status).toBe("approved");
    await flushVerifications(tenant.id);
    expect(await stored(started.row.id)).toMatchObject({ status: "approved", send_count: 1 });
    expect(await counters(tenant.id)).toEqual({
      verification_sent: 1,
      verification_check: 2,
      verification_approved: 1,
    });
  });

  it("masks the send log when the masked text lands after the message is final", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    await d1Down("verification_messages");
    const started = await startVerification(env, caller, { to: PHONE, channel: "sms" });
    const messageId = started.row.messageId ?? "";
    // The message went and is final, its body still readable: D1 has no masked text yet.
    const final = await eventually(
      async () => {
        const row = await env.DB.prepare("SELECT status, body FROM messages WHERE id = ?")
          .bind(messageId)
          .first<{ status: string; body: string }>();
        return row && ["delivered", "undelivered", "failed"].includes(row.status) ? row : undefined;
      },
      10_000,
      `message ${messageId} final`,
    );
    expect(final.body).toContain(started.code);

    await d1Back();
    await flushVerifications(tenant.id);
    const logged = await env.DB.prepare("SELECT body FROM messages WHERE id = ?")
      .bind(messageId)
      .first<{ body: string }>();
    expect(logged?.body).not.toContain(started.code);
    expect(logged?.body).toContain("*".repeat(started.code.length));
  });
});

describe("starting a verification", () => {
  it("after an approval inside the ttl, starts a new verification; the approved one stays so", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const first = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    const approved = await checkVerification(
      env,
      caller,
      { id: first.row.id, code: first.code },
      t0 + 1,
    );
    expect(approved.valid).toBe(true);
    const second = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0 + MINUTE);
    expect(second.row.id).not.toBe(first.row.id);
    expect(second.row).toMatchObject({ status: "pending", sendCount: 1 });
    await flushVerifications(tenant.id);
    expect((await stored(first.row.id))?.status).toBe("approved");
    const check = await checkVerification(
      env,
      caller,
      { id: second.row.id, code: second.code },
      t0 + MINUTE + 1,
    );
    expect(check).toMatchObject({ valid: true, row: { status: "approved" } });
    // One message per start, each naming its own verification.
    const messages = await messagesTo(tenant.id, 2);
    expect(messages.map((m) => JSON.parse(m.metadata).verification_id).sort()).toEqual(
      [first.row.id, second.row.id].sort(),
    );
  });

  it("a cancel makes the next start a new verification", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const first = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    await cancelVerification(env, caller, first.row.id, t0 + 1);
    const second = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0 + MINUTE);
    expect(second.row.id).not.toBe(first.row.id);
    await flushVerifications(tenant.id);
    expect((await stored(first.row.id))?.status).toBe("canceled");
  });

  it("a re-send without code_length keeps the verification's length", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const first = await startVerification(
      env,
      caller,
      { to: PHONE, channel: "sms", code_length: 8 },
      t0,
    );
    const second = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0 + MINUTE);
    expect(second.row).toMatchObject({ id: first.row.id, sendCount: 2, codeLength: 8 });
    expect(second.code).toMatch(/^\d{8}$/);
    const check = await checkVerification(
      env,
      caller,
      { id: first.row.id, code: second.code },
      t0 + MINUTE + 1,
    );
    expect(check.valid).toBe(true);
  });
});

describe("a send the platform cap refuses after the tenant's limiter admitted it", () => {
  /** The verifications the tenant's limiter holds. */
  function held(tenantId: string) {
    return runInDurableObject(verificationLimiterOf(env, tenantId, "live"), (_, state) =>
      Number(state.storage.sql.exec("SELECT count(*) AS n FROM live").one().n),
    );
  }

  async function inD1(tenantId: string) {
    const row = await env.DB.prepare("SELECT count(*) AS n FROM verifications WHERE tenant_id = ?")
      .bind(tenantId)
      .first<{ n: number }>();
    return row?.n;
  }

  it("leaves no verification, in the object or in D1, and counts no send", async () => {
    const tenant = await createTenant();
    // The platform's cap counts live codes only.
    const caller = await callerOf(tenant, "live");
    const number = `+1415556${String(Date.now() % 10_000).padStart(4, "0")}`;
    const now = Date.now();
    for (let i = 0; i < PLATFORM_NUMBER_PER_DAY; i++) {
      await platformNumberLimiterOf(env, number).admit({ number, now: now - 1000 + i });
    }
    await expect(
      startVerification(env, caller, { to: number, channel: "sms" }, now),
    ).rejects.toMatchObject({ extensions: { limit: "platform_number" } });
    await flushVerifications(tenant.id);
    expect(await held(tenant.id)).toBe(0);
    expect(await inD1(tenant.id)).toBe(0);
    expect((await counters(tenant.id)).verification_sent ?? 0).toBe(0);
  });

  it("undoes in D1 a new verification whose row was flushed before the refusal came", async () => {
    const tenant = await createTenant();
    const stub = verificationLimiterOf(env, tenant.id, "test");
    const now = Date.now();
    const id = `vrf_test${now}`;
    const code = "123456";
    const verdict = await stub.admit({
      tenantId: tenant.id,
      recipient: PHONE,
      phone: null,
      now,
      verification: {
        key: `test sms ${PHONE}`,
        newId: id,
        codeLength: null,
        code,
        newHash: await codeHash(env, id, code),
        expiresAt: now + 600_000,
        base: {
          tenantId: tenant.id,
          channel: "sms",
          to: PHONE,
          recipient: PHONE,
          country: "US",
          appId: null,
          mode: "test",
        },
        masked: null,
      },
    });
    if (!verdict.ok) {
      throw new Error("not admitted");
    }
    await flushVerifications(tenant.id);
    expect(await stored(id)).toMatchObject({ status: "pending", send_count: 1 });
    expect(await counters(tenant.id)).toEqual({ verification_sent: 1 });

    await stub.release({ reservation: verdict.reservation, limit: "platform_number", now });
    await flushVerifications(tenant.id);
    expect(await stored(id)).toBeNull();
    expect(await held(tenant.id)).toBe(0);
    expect(await counters(tenant.id)).toEqual({ verification_sent: 0 });
    // Run again, it takes nothing back twice.
    await stub.release({ reservation: verdict.reservation, limit: "platform_number", now });
    await flushVerifications(tenant.id);
    expect(await counters(tenant.id)).toEqual({ verification_sent: 0 });
  });
});
