/**
 * The dispatcher's budget: months run by the tenant's zone, a cancel gives the charge back to the
 * month it was counted in, and test-mode messages are never charged.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { monthOf, thresholdsPassed } from "../../src/domain/budget";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { acceptRequest, isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage } from "../support/messages";

const SHANGHAI = { limitMicros: 13_000, zone: "Asia/Shanghai", currency: "USD" };

describe("months in the tenant's zone", () => {
  it("knows which month an instant is in, across the zone's midnight and a DST change", () => {
    expect(monthOf(Date.parse("2026-11-30T15:59:59Z"), "Asia/Shanghai")).toBe("2026-11");
    expect(monthOf(Date.parse("2026-11-30T16:00:00Z"), "Asia/Shanghai")).toBe("2026-12");
    expect(monthOf(Date.parse("2026-11-01T03:59:59Z"), "America/New_York")).toBe("2026-10");
    expect(monthOf(Date.parse("2026-11-01T04:00:00Z"), "America/New_York")).toBe("2026-11");
    expect(monthOf(Date.parse("2027-01-01T05:29:59Z"), "Asia/Kolkata")).toBe("2027-01");
    expect(monthOf(Date.parse("2026-12-31T18:29:59Z"), "Asia/Kolkata")).toBe("2026-12");
  });

  it("passes each threshold once, at its exact mark", () => {
    expect(thresholdsPassed(50_000, 0, 39_999)).toEqual([]);
    expect(thresholdsPassed(50_000, 39_999, 40_000)).toEqual([80]);
    expect(thresholdsPassed(50_000, 40_000, 50_000)).toEqual([100]);
    expect(thresholdsPassed(50_000, 0, 60_000)).toEqual([80, 100]);
    expect(thresholdsPassed(50_000, 50_000, 60_000)).toEqual([]);
  });
});

describe("the dispatcher's running total", () => {
  it("starts a new month at the tenant's midnight, not UTC's, and refunds a cancel to its own month", async () => {
    const { tenant, stub, sql } = await isolatedDispatcher();
    let now = Date.parse("2026-11-30T15:59:00Z");
    await runInDurableObject(stub, (instance: TenantDispatcher) => {
      Object.defineProperty(instance, "clock", { value: () => now });
    });
    const live = (n: number) =>
      outboxMessage(tenant.id, `+861380013${String(n).padStart(4, "0")}`, {
        mode: "live",
        createdAt: now,
        sendAt: now + 3_600_000,
      });
    const accept = (n: number) =>
      stub.accept({ ...acceptRequest(live(n), undefined, "h"), budget: SHANGHAI });

    const november = live(1);
    expect(
      (await stub.accept({ ...acceptRequest(november, undefined, "h"), budget: SHANGHAI })).kind,
    ).toBe("accepted");
    expect((await accept(2)).kind).toBe("accepted");
    const refused = await accept(3);
    expect(refused).toEqual({
      kind: "over-budget",
      refusal: {
        budget: "monthly",
        month: "2026-11",
        limitMicros: 13_000,
        usedMicros: 13_000,
        costMicros: 6_500,
      },
    });
    // Test mode: never charged, never refused.
    const test = outboxMessage(tenant.id, "+8613800139999", { mode: "test" });
    expect(
      (await stub.accept({ ...acceptRequest(test, undefined, "h"), budget: SHANGHAI })).kind,
    ).toBe("accepted");

    // 00:00 on 1 December in Shanghai; still 30 November in UTC.
    now = Date.parse("2026-11-30T16:00:00Z");
    expect((await accept(4)).kind).toBe("accepted");
    expect(await stub.budgetUsage(SHANGHAI)).toEqual({
      month: "2026-12",
      usedMicros: 6_500,
      limitMicros: 13_000,
      remainingMicros: 6_500,
      balanceMicros: null,
    });

    expect(await stub.cancel(november.id)).toEqual({ kind: "canceled" });
    expect(await sql("SELECT month, used_micros FROM budget_months ORDER BY month")).toEqual([
      { month: "2026-11", used_micros: 6_500 },
      { month: "2026-12", used_micros: 6_500 },
    ]);
    // Canceling again gives nothing back twice.
    expect(await stub.cancel(november.id)).toEqual({ kind: "canceled" });
    expect(await sql("SELECT used_micros FROM budget_months WHERE month = '2026-11'")).toEqual([
      { used_micros: 6_500 },
    ]);
  });

  it("draws a batch from the balance at commit and gives a canceled batch's charge back", async () => {
    const { tenant, stub } = await isolatedDispatcher();
    expect(await stub.topUpBalance({ tenantId: tenant.id, micros: 20_000 })).toEqual({
      beforeMicros: 0,
      balanceMicros: 20_000,
      applied: true,
    });
    const batchId = "bat_budget1";
    const now = Date.now();
    const messages = [1, 2, 3, 4].map((n) =>
      outboxMessage(tenant.id, `+86138001400${n}`, {
        mode: "live",
        batchId,
        lane: "bulk",
        sendAt: now + 3_600_000,
      }),
    );
    await stub.stageBatch({ tenantId: tenant.id, messages });
    const record = {
      id: batchId,
      tenantId: tenant.id,
      templateId: null,
      templateVersion: null,
      kind: "notification" as const,
      mode: "live" as const,
      accepted: 4,
      rejected: 0,
      sendAt: now + 3_600_000,
      createdAt: now,
      canceledAt: null,
    };
    const policy = { limitMicros: null, zone: "UTC", currency: "USD" };
    const result = await stub.commitBatch(record, 0, { policy, partial: true });
    expect(result).toMatchObject({
      kind: "partial",
      refused: [messages[3]?.id],
      refusal: { budget: "balance", balanceMicros: 20_000, costMicros: 6_500 },
    });
    expect(await stub.budgetUsage(policy)).toMatchObject({
      usedMicros: 19_500,
      balanceMicros: 500,
      remainingMicros: 500,
    });
    // A retried upload's commit is answered as the first was, and charges nothing again.
    expect(await stub.commitBatch({ ...record }, 0, { policy, partial: true })).toEqual(result);
    expect(await stub.budgetUsage(policy)).toMatchObject({ usedMicros: 19_500 });
    expect(await stub.cancelBatch(batchId)).toBe(3);
    expect(await stub.budgetUsage(policy)).toMatchObject({ usedMicros: 0, balanceMicros: 20_000 });
  });
});
