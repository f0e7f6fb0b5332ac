/**
 * A start without a D1 read (services/verifications/verifications.ts): the tenant's limiter names
 * the verification a code goes on, and the D1 write that follows only re-sends on one still
 * pending. These cover what that must never get wrong: a verification that ended since the limiter
 * last saw it, and a D1 failure between the admission and the hand-over.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../../src/domain/caller";
import { loadTenant } from "../../src/services/accounts/tenants";
import {
  cancelVerification,
  checkVerification,
  startVerification,
} from "../../src/services/verifications/verifications";
import { createTenant, eventually, type TestTenant } from "../support/tenants";

const PHONE = "+14155550188";
const MINUTE = 61_000;

async function callerOf(tenant: TestTenant): Promise<Caller> {
  const config = await loadTenant(env, tenant.id);
  if (!config) {
    throw new Error(`no tenant ${tenant.id}`);
  }
  return { keyId: tenant.keyId, mode: "test", scopes: ["admin"], tenant: config };
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

const FAIL_MASKED_INSERT = `CREATE TRIGGER IF NOT EXISTS test_fail_masked BEFORE INSERT ON verification_messages
  BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`;

afterEach(async () => {
  await env.DB.prepare("DROP TRIGGER IF EXISTS test_fail_masked").run();
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
    expect((await stored(first.row.id))?.status).toBe("approved");
    const check = await checkVerification(
      env,
      caller,
      { id: second.row.id, code: second.code },
      t0 + MINUTE + 1,
    );
    expect(check).toMatchObject({ valid: true, row: { status: "approved" } });
  });

  it("when the one the limiter names ended in D1 unseen, sends on a new one and leaves it alone", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const first = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    // Ended behind the limiter's back (as a cancel racing the next start could).
    await env.DB.prepare("UPDATE verifications SET status = 'canceled' WHERE id = ?")
      .bind(first.row.id)
      .run();
    const before = await stored(first.row.id);
    const second = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0 + MINUTE);
    expect(second.row.id).not.toBe(first.row.id);
    expect(second.row).toMatchObject({ status: "pending", sendCount: 1 });
    // The canceled one took no new code and counted no send.
    expect(await stored(first.row.id)).toEqual(before);
    // One message per start, each naming its own verification.
    const messages = await messagesTo(tenant.id, 2);
    expect(messages.map((m) => JSON.parse(m.metadata).verification_id).sort()).toEqual(
      [first.row.id, second.row.id].sort(),
    );
    // The limiter now names the new one: a re-send keeps it.
    const third = await startVerification(
      env,
      caller,
      { to: PHONE, channel: "sms" },
      t0 + 2 * MINUTE,
    );
    expect(third.row).toMatchObject({ id: second.row.id, sendCount: 2 });
    const check = await checkVerification(
      env,
      caller,
      { id: third.row.id, code: third.code },
      t0 + 2 * MINUTE + 1,
    );
    expect(check.valid).toBe(true);
  });

  it("a cancel makes the next start a new verification", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const first = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    await cancelVerification(env, caller, first.row.id, t0 + 1);
    const second = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0 + MINUTE);
    expect(second.row.id).not.toBe(first.row.id);
    expect((await stored(first.row.id))?.status).toBe("canceled");
  });

  it("a D1 failure before the hand-over sends nothing and changes no code; a later start works", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const t0 = Date.now();
    const first = await startVerification(env, caller, { to: PHONE, channel: "sms" }, t0);
    const before = await stored(first.row.id);

    await env.DB.prepare(FAIL_MASKED_INSERT).run();
    await expect(
      startVerification(env, caller, { to: PHONE, channel: "sms" }, t0 + MINUTE),
    ).rejects.toThrow(/injected D1 failure/);
    await env.DB.prepare("DROP TRIGGER test_fail_masked").run();

    // The batch is one transaction: the verification kept its code and count.
    expect(await stored(first.row.id)).toEqual(before);

    // A later start re-sends on the same verification; only its code approves.
    const retry = await startVerification(
      env,
      caller,
      { to: PHONE, channel: "sms" },
      t0 + 2 * MINUTE,
    );
    expect(retry.row).toMatchObject({ id: first.row.id, sendCount: 2 });
    // Two messages in all (the first start's and the retry's), none for the failed start.
    const messages = await messagesTo(tenant.id, 2);
    expect(messages).toHaveLength(2);
    expect(messages.map((m) => m.id)).toContain(retry.row.messageId);
    expect(messages.map((m) => m.id)).toContain(first.row.messageId);
    if (first.code !== retry.code) {
      const stale = await checkVerification(
        env,
        caller,
        { id: first.row.id, code: first.code },
        t0 + 2 * MINUTE + 1,
      );
      expect(stale).toMatchObject({ valid: false, row: { status: "pending" } });
    }
    const fresh = await checkVerification(
      env,
      caller,
      { id: first.row.id, code: retry.code },
      t0 + 2 * MINUTE + 2,
    );
    expect(fresh).toMatchObject({ valid: true, row: { status: "approved" } });
  });
});
