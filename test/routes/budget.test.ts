/**
 * Spending limits through the API: a monthly budget set with PATCH /v1/tenant and a prepaid
 * balance topped up by the platform admin stop live sends and batches at their edge, exactly,
 * also under concurrent sends; test keys never count; thresholds announce themselves once.
 * A message to a Chinese number costs 0.0065 USD (one segment at the list price).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { platform } from "../support/platform";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";

const PRICE = 0.0065;
const patch = (body: unknown) => ({ method: "PATCH", body: JSON.stringify(body) });
const phone = (n: number) => `+86138001${String(n).padStart(5, "0")}`;

async function setBudget(tenant: TestTenant, limit: number | null): Promise<Response> {
  return tenant.api(
    "/v1/tenant",
    patch({ budget: limit === null ? null : { monthly_limit: limit } }),
  );
}

const sendSms = (tenant: TestTenant, n: number, key = tenant.key) =>
  call("/v1/messages", key, postJson({ to: phone(n), body: "Hi" }));

interface Usage {
  month: string;
  used: number;
  remaining: number | null;
  balance: number | null;
  currency: string;
}

async function usageOf(tenant: TestTenant): Promise<Usage> {
  const res = await tenant.api("/v1/tenant");
  expect(res.status).toBe(200);
  return ((await res.json()) as { budget_usage: Usage }).budget_usage;
}

const topUp = (tenantId: string, amount: unknown) =>
  platform(`/v1/platform/tenants/${tenantId}/balance`, postJson({ amount }));

describe("the monthly budget", () => {
  it("is set, shown and removed through PATCH /v1/tenant, each change audited", async () => {
    const tenant = await createTenant();
    const set = await setBudget(tenant, 0.05);
    expect(set.status, await set.clone().text()).toBe(200);
    expect(await set.json()).toMatchObject({
      budget: { monthly_limit: 0.05, thresholds: [80, 100] },
      budget_usage: { used: 0, remaining: 0.05, balance: null, currency: "USD" },
    });
    const removed = await setBudget(tenant, null);
    expect(await removed.json()).toMatchObject({ budget: null, budget_usage: { remaining: null } });

    const entries = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    const diffs = entries.data
      .filter((e) => e.action === "tenant.update")
      .map((e) => JSON.stringify(e.diff));
    expect(diffs).toHaveLength(2);
    expect(diffs.join()).toContain("50000");
  });

  it("refuses a limit that is not a positive amount with at most 6 decimals", async () => {
    const tenant = await createTenant();
    for (const budget of [
      { monthly_limit: 0 },
      { monthly_limit: -1 },
      { monthly_limit: 0.0000001 },
      { monthly_limit: "5" },
      { monthly_limit: 5, extra: 1 },
      {},
    ]) {
      const res = await tenant.api("/v1/tenant", patch({ budget }));
      await expectProblem(res, { status: 400, slug: "validation-error", instance: "/v1/tenant" });
    }
  });

  it("accepts exactly as many of 20 concurrent sends as the budget holds", async () => {
    const tenant = await createTenant();
    // Room for 7 messages, not 8.
    expect((await setBudget(tenant, 0.0455 + 0.006)).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => sendSms(tenant, i)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(7);
    expect(statuses.filter((s) => s === 422)).toHaveLength(13);
    const refused = answers.find((r) => r.status === 422);
    if (!refused) {
      throw new Error("nothing was refused");
    }
    const problem = await expectProblem(refused, {
      status: 422,
      slug: "budget-exceeded",
      instance: "/v1/messages",
      detail: /monthly budget of 0\.0515 USD/,
    });
    expect(problem).toMatchObject({
      budget: "monthly",
      limit: 0.0515,
      used: 0.0455,
      remaining: 0.006,
      cost: PRICE,
      currency: "USD",
    });
    expect(await usageOf(tenant)).toMatchObject({ used: 0.0455, remaining: 0.006 });
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE tenant_id = ?")
      .bind(tenant.id)
      .first<{ n: number }>()) ?? { n: -1 };
    // Only the accepted ones exist (the flush may still be writing them: at most 7).
    expect(n).toBeLessThanOrEqual(7);
  });

  it("never counts a test key's messages", async () => {
    const tenant = await createTenant();
    expect((await setBudget(tenant, PRICE)).status).toBe(200);
    const test = await tenant.addKey(["messages:send"], "test");
    for (let i = 0; i < 3; i++) {
      expect((await sendSms(tenant, i, test.key)).status).toBe(202);
    }
    expect(await usageOf(tenant)).toMatchObject({ used: 0, remaining: PRICE });
    expect((await sendSms(tenant, 9)).status).toBe(202);
    expect((await sendSms(tenant, 10)).status).toBe(422);
  });

  it("gives a canceled scheduled message's cost back", async () => {
    const tenant = await createTenant();
    expect((await setBudget(tenant, PRICE)).status).toBe(200);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: phone(1), body: "Hi", send_at: later }),
    );
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await sendSms(tenant, 2)).status).toBe(422);
    const canceled = await tenant.api(`/v1/messages/${id}/cancel`, postJson({}));
    expect(canceled.status, await canceled.clone().text()).toBeLessThan(300);
    expect(await usageOf(tenant)).toMatchObject({ used: 0 });
    expect((await sendSms(tenant, 2)).status).toBe(202);
  });

  it("sends budget.threshold at 80% and at 100%, once each in the month", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { events: ["budget.threshold"] });
    // 5 messages fit; the 4th reaches 80%, the 5th 100%.
    expect((await setBudget(tenant, PRICE * 5)).status).toBe(200);
    const thresholdsSeen = async () =>
      (await deliveriesOf(endpoint.id))
        .filter((d) => d.event_type === "budget.threshold")
        .map((d) => (JSON.parse(d.payload) as { data: { threshold: number } }).data.threshold)
        .sort((a, b) => a - b);
    for (let i = 0; i < 3; i++) {
      expect((await sendSms(tenant, i)).status).toBe(202);
    }
    expect(await thresholdsSeen()).toEqual([]);
    expect((await sendSms(tenant, 3)).status).toBe(202);
    expect(await thresholdsSeen()).toEqual([80]);
    expect((await sendSms(tenant, 4)).status).toBe(202);
    expect(await thresholdsSeen()).toEqual([80, 100]);
    const [hundred] = (await deliveriesOf(endpoint.id)).filter((d) =>
      d.payload.includes('"threshold":100'),
    );
    expect(JSON.parse(hundred?.payload ?? "{}")).toMatchObject({
      type: "budget.threshold",
      data: { threshold: 100, limit: 0.0325, used: 0.0325, remaining: 0, currency: "USD" },
    });
    // Refused sends, a raised budget and more sends: neither threshold again this month.
    expect((await sendSms(tenant, 5)).status).toBe(422);
    expect((await setBudget(tenant, PRICE * 6)).status).toBe(200);
    expect((await sendSms(tenant, 6)).status).toBe(202);
    expect(await thresholdsSeen()).toEqual([80, 100]);
  });
});

describe("batches against the budget", () => {
  const recipients = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ to: phone(100 + i) }));

  it("refuses a batch that would pass the budget whole, sending none of it", async () => {
    const tenant = await createTenant();
    expect((await setBudget(tenant, PRICE * 3)).status).toBe(200);
    const res = await tenant.api(
      "/v1/batches",
      postJson({ body: "Hi", recipients: recipients(4) }),
    );
    const problem = await expectProblem(res, {
      status: 422,
      slug: "budget-exceeded",
      instance: "/v1/batches",
    });
    expect(problem).toMatchObject({ budget: "monthly", used: 0, remaining: 0.0195, cost: 0.026 });
    expect(await usageOf(tenant)).toMatchObject({ used: 0 });
    // What fits still goes.
    const fits = await tenant.api(
      "/v1/batches",
      postJson({ body: "Hi", recipients: recipients(3) }),
    );
    expect(fits.status, await fits.clone().text()).toBe(202);
    expect(await fits.json()).toMatchObject({ accepted: 3, partial: false, budget_refused: 0 });
  });

  it("with partial: true accepts the rows up to the budget and lists the rest as refused", async () => {
    const tenant = await createTenant();
    expect((await setBudget(tenant, PRICE * 3)).status).toBe(200);
    const res = await tenant.api(
      "/v1/batches",
      postJson({ body: "Hi", recipients: recipients(5), partial: true }),
    );
    expect(res.status, await res.clone().text()).toBe(202);
    const batch = (await res.json()) as {
      id: string;
      accepted: number;
      partial: boolean;
      budget_refused: number;
      rejected_count: number;
      rejected_rows: { row: number; reason: string }[];
    };
    expect(batch).toMatchObject({
      accepted: 3,
      partial: true,
      budget_refused: 2,
      rejected_count: 2,
    });
    expect(batch.rejected_rows.map((r) => r.row)).toEqual([4, 5]);
    expect(batch.rejected_rows[0]?.reason).toMatch(/^budget: .*monthly budget/);
    expect(await usageOf(tenant)).toMatchObject({ used: 0.0195, remaining: 0 });
    const read = await tenant.api(`/v1/batches/${batch.id}`);
    expect(await read.json()).toMatchObject({ accepted: 3, rejected_count: 2 });
  });

  it("never counts a test key's batch", async () => {
    const tenant = await createTenant();
    expect((await setBudget(tenant, PRICE)).status).toBe(200);
    const test = await tenant.addKey(["messages:send"], "test");
    const res = await call(
      "/v1/batches",
      test.key,
      postJson({ body: "Hi", recipients: recipients(4) }),
    );
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await usageOf(tenant)).toMatchObject({ used: 0 });
  });
});

describe("the prepaid balance", () => {
  it("is topped up by the platform admin, audited, and drawn down by sends to zero, never below", async () => {
    const tenant = await createTenant();
    expect(await usageOf(tenant)).toMatchObject({ balance: null, remaining: null });
    const first = await topUp(tenant.id, PRICE * 2);
    expect(first.status, await first.clone().text()).toBe(200);
    expect(await first.json()).toEqual({ tenant_id: tenant.id, balance: 0.013, currency: "USD" });

    expect((await sendSms(tenant, 1)).status).toBe(202);
    expect(await usageOf(tenant)).toMatchObject({ used: PRICE, balance: PRICE, remaining: PRICE });
    expect((await sendSms(tenant, 2)).status).toBe(202);
    const refused = await sendSms(tenant, 3);
    const problem = await expectProblem(refused, {
      status: 422,
      slug: "budget-exceeded",
      instance: "/v1/messages",
      detail: /prepaid balance/,
    });
    expect(problem).toMatchObject({ budget: "balance", balance: 0, remaining: 0, cost: PRICE });

    expect((await topUp(tenant.id, 1)).status).toBe(200);
    expect(await usageOf(tenant)).toMatchObject({ balance: 1 });
    expect((await sendSms(tenant, 3)).status).toBe(202);

    const entries = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    const topUps = entries.data.filter((e) => e.action === "tenant.balance.top_up");
    expect(topUps).toHaveLength(2);
    expect(topUps.map((e) => e.actorType)).toEqual(["platform", "platform"]);
  });

  it("tops up once per Idempotency-Key: the same amount replays, another is a 422, each top-up audited once", async () => {
    const tenant = await createTenant();
    const keyed = (amount: number, key: string) =>
      platform(
        `/v1/platform/tenants/${tenant.id}/balance`,
        postJson({ amount }, { "Idempotency-Key": key }),
      );
    const first = await keyed(5, "top-up-1");
    expect(first.status, await first.clone().text()).toBe(200);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    const firstBody = await first.json();
    expect(firstBody).toEqual({ tenant_id: tenant.id, balance: 5, currency: "USD" });

    const again = await keyed(5, "top-up-1");
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(firstBody);
    expect(await usageOf(tenant)).toMatchObject({ balance: 5 });

    await expectProblem(await keyed(7, "top-up-1"), {
      status: 422,
      slug: "idempotency-key-reused",
      instance: `/v1/platform/tenants/${tenant.id}/balance`,
      pointers: ["/headers/idempotency-key"],
    });
    expect(await usageOf(tenant)).toMatchObject({ balance: 5 });

    // Another key is another top-up; concurrent retries of one key add once.
    const racing = await Promise.all([1, 2, 3].map(() => keyed(2, "top-up-2")));
    expect(racing.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(racing.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(await usageOf(tenant)).toMatchObject({ balance: 7 });

    const entries = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    const topUps = entries.data.filter((e) => e.action === "tenant.balance.top_up");
    expect(topUps.map((e) => [e.actorType, e.target, JSON.parse(e.diff)])).toEqual([
      ["platform", tenant.id, { balance: { from: 5, to: 7 } }],
      ["platform", tenant.id, { balance: { from: 0, to: 5 } }],
    ]);
  });

  it("made again under the same id (a rerun claim) adds nothing and is audited once", async () => {
    const tenant = await createTenant();
    const stub = dispatcherOf(env, tenant.id);
    const made = await stub.topUpBalance({ tenantId: tenant.id, micros: 3_000_000, id: "t1" });
    expect(made).toEqual({ beforeMicros: 0, balanceMicros: 3_000_000, applied: true });
    const rerun = await stub.topUpBalance({ tenantId: tenant.id, micros: 3_000_000, id: "t1" });
    expect(rerun).toEqual({ beforeMicros: 0, balanceMicros: 3_000_000, applied: false });
    expect(await usageOf(tenant)).toMatchObject({ balance: 3 });
  });

  it("refuses a top-up that is not a positive amount, one without the platform key, and an unknown tenant", async () => {
    const tenant = await createTenant();
    for (const amount of [0, -5, "10", 1.0000001, null]) {
      await expectProblem(await topUp(tenant.id, amount), {
        status: 400,
        slug: "validation-error",
        instance: `/v1/platform/tenants/${tenant.id}/balance`,
      });
    }
    const byTenant = await tenant.api(
      `/v1/platform/tenants/${tenant.id}/balance`,
      postJson({ amount: 10 }),
    );
    expect(byTenant.status).toBe(401);
    const unknown = await topUp("tnt_00000000000000000000000000", 10);
    expect(unknown.status).toBe(404);
    expect(await usageOf(tenant)).toMatchObject({ balance: null });
  });
});
