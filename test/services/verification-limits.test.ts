/**
 * The verification limits (issue 16) through services/verifications/limits.ts, with an injected
 * clock: each window at its edges, the platform-wide cap across tenants, the range velocity, the
 * country cap, the low-conversion guard tripping and recovering, and exactness under concurrency.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verificationLimiterOf } from "../../src/delivery/verification-limiters";
import { numberRangeOf } from "../../src/domain/verification-limits";
import { recordApproval } from "../../src/durable-objects/verification-limiter/counters";
import { admitVerificationSend, refusalsByDay } from "../../src/services/verifications/limits";
import { createTenant, type TestTenant } from "../support/tenants";

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let serial = 0;
/** A Chinese mobile number no other test uses (the platform cap counts across tests). */
function freshRange(): string {
  serial += 1;
  return `+86139${String(Date.now() % 10_000).padStart(4, "0")}${String(serial).padStart(2, "0")}`;
}
function numberIn(range: string, last4: number): string {
  return `${range}${String(last4).padStart(4, "0")}`;
}

/** The admission, less the reservation an admitted send carries (a random id). */
async function admit(
  tenantId: string,
  recipient: string,
  now: number,
  country: string | null = "CN",
) {
  const admission = await admitVerificationSend(env, {
    tenantId,
    mode: "live",
    channel: recipient.startsWith("+") ? "sms" : "wechat",
    recipient,
    country,
    now,
  });
  if (admission.ok) {
    const { reservation: _, platform: __, ...rest } = admission;
    return rest;
  }
  return admission;
}

/** An approval as the limiter counts it when a check approves a code to `recipient`. */
async function approvedAt(tenantId: string, recipient: string, now: number): Promise<void> {
  await runInDurableObject(verificationLimiterOf(env, tenantId, "live"), (_, state) => {
    recordApproval(state.storage.sql, "prefix", numberRangeOf(recipient), now);
    recordApproval(state.storage.sql, "country", "CN", now);
  });
}

async function setLimits(tenant: TestTenant, body: Record<string, unknown>): Promise<void> {
  const response = await tenant.api("/v1/tenant", { method: "PATCH", body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

describe("per-recipient windows", () => {
  it("allows 1 a minute: refused until 60 s after the first, then admitted", async () => {
    const tenant = await createTenant();
    const to = numberIn(freshRange(), 1);
    expect(await admit(tenant.id, to, T0)).toEqual({ ok: true });
    expect(await admit(tenant.id, to, T0 + MINUTE - 1)).toEqual({
      ok: false,
      limit: "number_minute",
      retryAfterSeconds: 1,
    });
    expect(await admit(tenant.id, to, T0 + 1_000)).toEqual({
      ok: false,
      limit: "number_minute",
      retryAfterSeconds: 59,
    });
    expect(await admit(tenant.id, to, T0 + MINUTE)).toEqual({ ok: true });
  });

  it("allows 5 an hour: the sixth waits for the first to leave the hour", async () => {
    const tenant = await createTenant();
    const to = numberIn(freshRange(), 2);
    for (let i = 0; i < 5; i++) {
      expect(await admit(tenant.id, to, T0 + i * MINUTE)).toEqual({ ok: true });
    }
    expect(await admit(tenant.id, to, T0 + 5 * MINUTE)).toEqual({
      ok: false,
      limit: "number_hour",
      retryAfterSeconds: (HOUR - 5 * MINUTE) / 1000,
    });
    expect(await admit(tenant.id, to, T0 + HOUR - 1)).toMatchObject({ limit: "number_hour" });
    expect(await admit(tenant.id, to, T0 + HOUR)).toEqual({ ok: true });
    // The second send (T0 + 1 min) is still in the hour with the three after it and the new one.
    expect(await admit(tenant.id, to, T0 + HOUR + MINUTE - 1)).toMatchObject({
      limit: "number_minute",
    });
  });

  it("allows 10 a day: the eleventh waits for the first to leave the 24 h", async () => {
    const tenant = await createTenant();
    const to = numberIn(freshRange(), 3);
    // Every 15 minutes keeps within 5 an hour.
    for (let i = 0; i < 10; i++) {
      expect(await admit(tenant.id, to, T0 + i * 15 * MINUTE)).toEqual({ ok: true });
    }
    const eleventh = T0 + 10 * 15 * MINUTE;
    expect(await admit(tenant.id, to, eleventh)).toEqual({
      ok: false,
      limit: "number_day",
      retryAfterSeconds: (DAY - 150 * MINUTE) / 1000,
    });
    expect(await admit(tenant.id, to, T0 + DAY - 1)).toMatchObject({ limit: "number_day" });
    expect(await admit(tenant.id, to, T0 + DAY)).toEqual({ ok: true });
  });

  it("counts a WeChat openid as the recipient, with no range, country or platform rule", async () => {
    const tenant = await createTenant();
    const openid = `oVerify${Date.now()}${serial++}`;
    expect(await admit(tenant.id, openid, T0, null)).toEqual({ ok: true });
    expect(await admit(tenant.id, openid, T0 + 1)).toMatchObject({ limit: "number_minute" });
    expect(await admit(tenant.id, `${openid}x`, T0 + 2, null)).toEqual({ ok: true });
  });

  it("keeps one tenant's counts from another's", async () => {
    const [a, b] = [await createTenant(), await createTenant()];
    const to = numberIn(freshRange(), 4);
    expect(await admit(a.id, to, T0)).toEqual({ ok: true });
    expect(await admit(b.id, to, T0)).toEqual({ ok: true });
    expect(await admit(a.id, to, T0 + 1)).toMatchObject({ limit: "number_minute" });
  });
});

describe("the tenant's verification settings", () => {
  it("shows the defaults, changes the members given (audited), and the limiter obeys at once", async () => {
    const tenant = await createTenant();
    const before = (await (await tenant.api("/v1/tenant")).json()) as Record<string, unknown>;
    expect(before.verification_limits).toEqual({
      per_minute: 1,
      per_hour: 5,
      per_day: 10,
      prefix_per_hour: 30,
      country_per_day: 10_000,
    });
    expect(before.fraud_guard).toEqual({ enabled: true, threshold: 0.2, min_volume: 20 });

    const to = numberIn(freshRange(), 5);
    expect(await admit(tenant.id, to, T0)).toEqual({ ok: true });
    const response = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({
        verification_limits: { per_minute: 2 },
        fraud_guard: { threshold: 0.3 },
      }),
    });
    expect(response.status).toBe(200);
    const after = (await response.json()) as Record<string, unknown>;
    expect(after.verification_limits).toMatchObject({ per_minute: 2, per_hour: 5, per_day: 10 });
    expect(after.fraud_guard).toEqual({ enabled: true, threshold: 0.3, min_volume: 20 });
    expect(await admit(tenant.id, to, T0 + 1)).toEqual({ ok: true });
    expect(await admit(tenant.id, to, T0 + 2)).toMatchObject({ limit: "number_minute" });

    const audit = await env.DB.prepare(
      "SELECT action, diff FROM audit_entries WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
    )
      .bind(tenant.id)
      .first<{ action: string; diff: string }>();
    expect(audit?.action).toBe("tenant.update");
    expect(Object.keys(JSON.parse(audit?.diff ?? "{}")).sort()).toEqual([
      "fraud_guard",
      "verification_limits",
    ]);
    expect(JSON.parse(audit?.diff ?? "{}")).toMatchObject({
      verification_limits: { from: { perMinute: 1, perHour: 5 }, to: { perMinute: 2, perHour: 5 } },
      fraud_guard: { from: { threshold: 0.2 }, to: { threshold: 0.3 } },
    });
  });

  it("refuses a limit below 1 or a threshold above 1 with a 400", async () => {
    const tenant = await createTenant();
    for (const body of [
      { verification_limits: { per_minute: 0 } },
      { fraud_guard: { threshold: 1.5 } },
      { verification_limits: { per_week: 3 } },
    ]) {
      const response = await tenant.api("/v1/tenant", {
        method: "PATCH",
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
    }
  });

  it("reads settings changed in D1 before the limiter was first used", async () => {
    const tenant = await createTenant();
    await env.DB.prepare("UPDATE tenants SET verification_limits = ? WHERE id = ?")
      .bind(
        JSON.stringify({
          perMinute: 3,
          perHour: 5,
          perDay: 10,
          prefixPerHour: 30,
          countryPerDay: 10,
        }),
        tenant.id,
      )
      .run();
    const to = numberIn(freshRange(), 6);
    for (let i = 0; i < 3; i++) {
      expect(await admit(tenant.id, to, T0 + i)).toEqual({ ok: true });
    }
    expect(await admit(tenant.id, to, T0 + 3)).toMatchObject({ limit: "number_minute" });
  });
});

describe("limits across recipients", () => {
  it("counts on the platform only the sends the tenant's own limits let through", async () => {
    const [a, b] = [await createTenant(), await createTenant()];
    await setLimits(b, { verification_limits: { per_minute: 100, per_hour: 100, per_day: 100 } });
    const to = numberIn(freshRange(), 8);
    expect(await admit(a.id, to, T0)).toEqual({ ok: true });
    // Refused by a's own minute (the platform's count is asked at the same time, and given back).
    for (let i = 1; i <= 25; i++) {
      expect(await admit(a.id, to, T0 + i)).toMatchObject({ limit: "number_minute" });
    }
    // The platform counted one send to the number: b has the other 19 of the day.
    for (let i = 0; i < 19; i++) {
      expect(await admit(b.id, to, T0 + 100 + i)).toEqual({ ok: true });
    }
    expect(await admit(b.id, to, T0 + 200)).toMatchObject({ limit: "platform_number" });
  });

  it("caps one number across tenants (platform_number), and the refusing tenant counts it", async () => {
    const [a, b] = [await createTenant(), await createTenant()];
    const generous = { verification_limits: { per_minute: 100, per_hour: 100, per_day: 100 } };
    await setLimits(a, generous);
    await setLimits(b, generous);
    const to = numberIn(freshRange(), 7);
    for (let i = 0; i < 12; i++) {
      expect(await admit(a.id, to, T0 + i)).toEqual({ ok: true });
    }
    for (let i = 0; i < 8; i++) {
      expect(await admit(b.id, to, T0 + 100 + i)).toEqual({ ok: true });
    }
    expect(await admit(b.id, to, T0 + HOUR)).toEqual({
      ok: false,
      limit: "platform_number",
      retryAfterSeconds: (DAY - HOUR) / 1000,
    });
    expect(await admit(a.id, to, T0 + HOUR)).toMatchObject({ limit: "platform_number" });
    expect(await admit(a.id, numberIn(freshRange(), 7), T0 + HOUR)).toEqual({ ok: true });
    // The first of a's sends leaves the day at T0 + DAY exactly, not a millisecond before.
    expect(await admit(b.id, to, T0 + DAY - 1)).toMatchObject({ limit: "platform_number" });
    expect(await admit(b.id, to, T0 + DAY)).toEqual({ ok: true });
    expect(await refusalsByDay(env, b.id, ["live"], T0, T0)).toEqual({
      "2026-12-07": { platform_number: 1 },
    });
  });

  it("caps the sends to one number range (prefix_velocity), not the neighbouring range", async () => {
    const tenant = await createTenant();
    await setLimits(tenant, { verification_limits: { prefix_per_hour: 3 } });
    const range = freshRange();
    for (let i = 0; i < 3; i++) {
      expect(await admit(tenant.id, numberIn(range, i), T0 + i * MINUTE)).toEqual({ ok: true });
    }
    expect(await admit(tenant.id, numberIn(range, 9), T0 + 3 * MINUTE)).toEqual({
      ok: false,
      limit: "prefix_velocity",
      retryAfterSeconds: (HOUR - 3 * MINUTE) / 1000,
    });
    expect(await admit(tenant.id, numberIn(freshRange(), 9), T0 + 3 * MINUTE)).toEqual({
      ok: true,
    });
    // The range's first send leaves the hour at T0 + HOUR exactly, not a millisecond before.
    expect(await admit(tenant.id, numberIn(range, 9), T0 + HOUR - 1)).toMatchObject({
      limit: "prefix_velocity",
    });
    expect(await admit(tenant.id, numberIn(range, 9), T0 + HOUR)).toEqual({ ok: true });
  });

  it("caps a country's sends a day (country_day), not another country's", async () => {
    const tenant = await createTenant();
    await setLimits(tenant, { verification_limits: { country_per_day: 2 } });
    expect(await admit(tenant.id, numberIn(freshRange(), 1), T0)).toEqual({ ok: true });
    expect(await admit(tenant.id, numberIn(freshRange(), 1), T0 + HOUR)).toEqual({ ok: true });
    expect(await admit(tenant.id, numberIn(freshRange(), 1), T0 + 2 * HOUR)).toEqual({
      ok: false,
      limit: "country_day",
      retryAfterSeconds: (DAY - 2 * HOUR) / 1000,
    });
    const us = `+1415555${String(serial++).padStart(4, "0")}`;
    expect(await admit(tenant.id, us, T0 + 2 * HOUR, "US")).toEqual({ ok: true });
    expect(await admit(tenant.id, numberIn(freshRange(), 1), T0 + DAY - 1)).toMatchObject({
      limit: "country_day",
    });
    expect(await admit(tenant.id, numberIn(freshRange(), 1), T0 + DAY)).toEqual({ ok: true });
  });
});

describe("the low-conversion guard", () => {
  async function trippedTenant() {
    const tenant = await createTenant();
    await setLimits(tenant, {
      verification_limits: { prefix_per_hour: 100 },
      fraud_guard: { threshold: 0.5, min_volume: 4 },
    });
    const range = freshRange();
    for (let i = 0; i < 4; i++) {
      expect(await admit(tenant.id, numberIn(range, i), T0 + i * 1_000)).toEqual({ ok: true });
    }
    return { tenant, range };
  }

  it("trips on a range nobody enters codes for, and recovers as the sends leave the hour", async () => {
    const { tenant, range } = await trippedTenant();
    const now = T0 + 10 * MINUTE;
    expect(await admit(tenant.id, numberIn(range, 50), now)).toEqual({
      ok: false,
      limit: "low_conversion",
      retryAfterSeconds: (HOUR - 10 * MINUTE) / 1000,
    });
    // The country's conversion is as low: another range there is refused as well.
    expect(await admit(tenant.id, numberIn(freshRange(), 50), now)).toMatchObject({
      limit: "low_conversion",
    });
    expect(await admit(tenant.id, numberIn(range, 50), T0 + HOUR)).toEqual({ ok: true });
    expect(await refusalsByDay(env, tenant.id, ["live"], T0, T0 + HOUR)).toEqual({
      "2026-12-07": { low_conversion: 2 },
    });
  });

  it("recovers as codes are approved", async () => {
    const { tenant, range } = await trippedTenant();
    expect(await admit(tenant.id, numberIn(range, 50), T0 + MINUTE)).toMatchObject({
      limit: "low_conversion",
    });
    for (const last4 of [0, 1]) {
      await approvedAt(tenant.id, numberIn(range, last4), T0 + MINUTE + last4);
    }
    expect(await admit(tenant.id, numberIn(range, 50), T0 + 2 * MINUTE)).toEqual({ ok: true });
  });

  it("refuses nothing when the tenant turns it off", async () => {
    const { tenant, range } = await trippedTenant();
    await setLimits(tenant, { fraud_guard: { enabled: false } });
    expect(await admit(tenant.id, numberIn(range, 50), T0 + MINUTE)).toEqual({ ok: true });
  });
});

describe("exactness under concurrency", () => {
  it("admits exactly 1 of 100 simultaneous sends to one number, and counts 99 refusals", async () => {
    const tenant = await createTenant();
    const to = numberIn(freshRange(), 8);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => admit(tenant.id, to, T0 + i)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.limit === "number_minute")).toHaveLength(99);
    expect(await refusalsByDay(env, tenant.id, ["live"], T0 - DAY, T0 + DAY)).toEqual({
      "2026-12-07": { number_minute: 99 },
    });
  });

  it("admits exactly the platform cap of simultaneous sends to one number from many tenants", async () => {
    const tenants = await Promise.all(Array.from({ length: 25 }, () => createTenant()));
    const to = numberIn(freshRange(), 9);
    const results = await Promise.all(tenants.map((t) => admit(t.id, to, T0)));
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    expect(results.filter((r) => !r.ok && r.limit === "platform_number")).toHaveLength(5);
  });
});
