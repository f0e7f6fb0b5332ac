import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { database } from "../../src/db/client";
import { messages } from "../../src/db/schema";
import { forgetPlacement, placementOf } from "../../src/db/send-log-partitions";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import { shardOf } from "../../src/domain/dispatch-shards";
import { DAY_MS } from "../../src/domain/verification-limits";
import type { DispatcherMeta } from "../../src/durable-objects/dispatcher/meta";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { newId } from "../../src/lib/ids";
import { sharedSendLogFor } from "../../src/services/accounts/platform-tenants";
import { enforceRetentionEverywhere } from "../../src/services/messaging/retention";
import { platform } from "../support/platform";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { createEndpoint } from "../support/webhooks";

const SL2 = env.SEND_LOG_2;

/** The send log's tables, each with its tenant column. */
const SEND_LOG_TABLES = [
  "messages",
  "message_attempts",
  "pending_receipts",
  "webhook_deliveries",
  "stat_rollups",
  "stat_latencies",
  "stat_errors",
] as const;

async function rowsOf(db: D1Database, table: string, tenantId: string): Promise<number> {
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE tenant_id = ?`)
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function statusOn(db: D1Database, id: string): Promise<string | undefined> {
  const row = await db
    .prepare("SELECT status FROM messages WHERE id = ?")
    .bind(id)
    .first<{ status: string }>();
  return row?.status;
}

async function reaches(db: D1Database, id: string, status: string): Promise<void> {
  await eventually(
    async () => ((await statusOn(db, id)) === status ? true : undefined),
    10_000,
    `${id} to reach ${status}`,
  );
}

async function attemptsOf(db: D1Database, id: string): Promise<number> {
  const row = await db
    .prepare("SELECT COUNT(*) AS n FROM message_attempts WHERE message_id = ?")
    .bind(id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Puts the tenant's new messages on `partition`, as a platform PATCH would, without one. */
async function placeOn(tenantId: string, partition: string, previous: string[] = []) {
  await env.DB.prepare("UPDATE tenants SET send_log = ?, previous_send_logs = ? WHERE id = ?")
    .bind(partition, previous.length > 0 ? JSON.stringify(previous) : null, tenantId)
    .run();
  forgetPlacement(tenantId);
}

async function send(tenant: TestTenant, to: string, extra: Record<string, unknown> = {}) {
  const res = await tenant.api("/v1/messages", postJson({ to, body: "Hello", ...extra }));
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const patch = (id: string, body: unknown) =>
  platform(`/v1/platform/tenants/${id}`, { method: "PATCH", body: JSON.stringify(body) });

/** Tenants' webhook endpoints answer 200; every other request goes where it would. */
const hooks: string[] = [];
beforeEach(() => {
  hooks.length = 0;
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).origin === "https://hooks.example.com") {
      hooks.push(await request.text());
      return new Response("ok");
    }
    return realFetch(request);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("a tenant on a second send-log partition", () => {
  it("sends, is delivered, has its receipt and webhooks, and leaves no send-log row on DB", async () => {
    const tenant = await createTenant();
    await placeOn(tenant.id, "SEND_LOG_2");
    await createEndpoint(tenant, { events: ["message.sent", "message.delivered"] });
    const id = await send(tenant, "+8613800138401");

    // The sandbox carrier's receipt (posted to our hook) makes it delivered, on SEND_LOG_2.
    await reaches(SL2, id, "delivered");
    const deliveries = await eventually(async () => {
      const { results } = await SL2.prepare(
        "SELECT event_type, status FROM webhook_deliveries WHERE tenant_id = ? ORDER BY event_type",
      )
        .bind(tenant.id)
        .all<{ event_type: string; status: string }>();
      return results.length === 2 && results.every((r) => r.status === "delivered")
        ? results
        : undefined;
    });
    expect(deliveries.map((d) => d.event_type)).toEqual(["message.delivered", "message.sent"]);
    expect(hooks.some((body) => body.includes(id))).toBe(true);

    for (const table of SEND_LOG_TABLES) {
      expect(await rowsOf(env.DB, table, tenant.id), `${table} on DB`).toBe(0);
    }
    expect(await rowsOf(SL2, "messages", tenant.id)).toBe(1);
    expect(await attemptsOf(SL2, id)).toBe(1);
    // The triggers' rollups went with the message.
    expect(await rowsOf(SL2, "stat_rollups", tenant.id)).toBeGreaterThan(0);
    expect(await rowsOf(SL2, "stat_latencies", tenant.id)).toBeGreaterThan(0);
    const delivered = await SL2.prepare(
      "SELECT SUM(delivered) AS n FROM stat_rollups WHERE tenant_id = ? AND grain = 0",
    )
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(delivered?.n).toBe(1);
  });

  it("moves from DB to SEND_LOG_2 with messages in flight: nothing lost, nothing sent twice", async () => {
    const tenant = await createTenant();
    // Sent and waiting for its receipt, on DB.
    const sentAt = Date.now();
    const waiting = newId("msg", sentAt);
    await database(env.DB).insert(messages).values({
      id: waiting,
      tenantId: tenant.id,
      channel: "sms",
      recipient: "+8613800138402",
      body: "Hello",
      mode: "live",
      status: "sent",
      segments: 1,
      encoding: "GSM-7",
      provider: "sandbox",
      providerMessageId: "sbx-move-1",
      createdAt: sentAt,
      sendAt: sentAt,
      updatedAt: sentAt,
      sentAt,
    });
    // Queued for later: logged to DB now, released after the move.
    const sendAt = new Date(Date.now() + 1500).toISOString();
    const queued = await send(tenant, "+8613800138403", { send_at: sendAt });
    await reaches(env.DB, queued, "scheduled");

    const res = await patch(tenant.id, { send_log: "SEND_LOG_2" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      send_log: "SEND_LOG_2",
      previous_send_logs: ["DB"],
    });
    const after = await send(tenant, "+8613800138404");

    // The receipt for the message on DB finds it there.
    const receipt = await call(`/hooks/sms/sandbox/${tenant.hookToken}/status`, null, {
      method: "POST",
      body: JSON.stringify({
        message_id: waiting,
        provider_message_id: "sbx-move-1",
        status: "delivered",
      }),
    });
    expect(receipt.status).toBe(200);
    expect(await statusOn(env.DB, waiting)).toBe("delivered");

    await reaches(env.DB, queued, "delivered");
    await reaches(SL2, after, "delivered");
    // Each on one partition only, each sent once.
    expect(await statusOn(SL2, waiting)).toBeUndefined();
    expect(await statusOn(SL2, queued)).toBeUndefined();
    expect(await statusOn(env.DB, after)).toBeUndefined();
    expect(await attemptsOf(env.DB, queued)).toBe(1);
    expect(await attemptsOf(SL2, after)).toBe(1);
    expect(await attemptsOf(SL2, queued)).toBe(0);
  });
});

describe("a receipt after a move another isolate made", () => {
  it("finds its message on the new partition although this isolate's placement was stale", async () => {
    const tenant = await createTenant();
    // This isolate learns the tenant is on DB; the move is then made elsewhere (no forget here).
    expect((await placementOf(env, tenant.id)).sendLog).toBe("DB");
    await env.DB.prepare(
      "UPDATE tenants SET send_log = 'SEND_LOG_2', previous_send_logs = '[\"DB\"]' WHERE id = ?",
    )
      .bind(tenant.id)
      .run();
    const at = Date.now();
    const id = newId("msg", at);
    await database(SL2).insert(messages).values({
      id,
      tenantId: tenant.id,
      channel: "sms",
      recipient: "+8613800138407",
      body: "Hello",
      mode: "live",
      status: "sent",
      segments: 1,
      encoding: "GSM-7",
      provider: "sandbox",
      providerMessageId: "sbx-stale-1",
      createdAt: at,
      sendAt: at,
      updatedAt: at,
      sentAt: at,
    });
    const receipt = await call(`/hooks/sms/sandbox/${tenant.hookToken}/status`, null, {
      method: "POST",
      body: JSON.stringify({
        message_id: id,
        provider_message_id: "sbx-stale-1",
        status: "delivered",
      }),
    });
    expect(receipt.status).toBe(200);
    expect(await statusOn(SL2, id)).toBe("delivered");
    expect(await rowsOf(env.DB, "pending_receipts", tenant.id)).toBe(0);
  });
});

describe("a verification code on a second partition", () => {
  it("masks the code in its message there once final (its masked texts go to the partition)", async () => {
    const tenant = await createTenant();
    await placeOn(tenant.id, "SEND_LOG_2");
    const key = (await tenant.addKey(["verifications:write", "messages:read"], "test")).key;
    const res = await call("/v1/verifications", key, postJson({ to: "+14155550178" }));
    expect(res.status).toBe(201);
    const code = ((await res.json()) as { sandbox_code?: string }).sandbox_code ?? "";
    expect(code).toMatch(/^\d{6}$/);
    const masked = await eventually(async () => {
      const row = await SL2.prepare(
        "SELECT body, status FROM messages WHERE tenant_id = ? AND status = 'delivered'",
      )
        .bind(tenant.id)
        .first<{ body: string }>();
      return row && !row.body.includes(code) ? row.body : undefined;
    });
    expect(masked).toContain("******");
    expect(await rowsOf(env.DB, "messages", tenant.id)).toBe(0);
  });
});

describe("PATCH /v1/platform/tenants/{id} {send_log}", () => {
  it("refuses a partition that is not configured with 422 at /send_log, changing nothing", async () => {
    const tenant = await createTenant();
    const instance = `/v1/platform/tenants/${tenant.id}`;
    const problem = await expectProblem(await patch(tenant.id, { send_log: "SEND_LOG_9" }), {
      status: 422,
      slug: "unprocessable-entity",
      instance,
    });
    expect(problem.errors?.[0]?.pointer).toBe("/send_log");
    // Refused before anything else in the body changes.
    await expectProblem(await patch(tenant.id, { send_log: "tenants", name: "Renamed" }), {
      status: 422,
      slug: "unprocessable-entity",
      instance,
    });
    const row = await env.DB.prepare(
      "SELECT name, send_log, previous_send_logs FROM tenants WHERE id = ?",
    )
      .bind(tenant.id)
      .first<{ name: string; send_log: string; previous_send_logs: string | null }>();
    expect(row).toMatchObject({ send_log: "DB", previous_send_logs: null });
    expect(row?.name).not.toBe("Renamed");
    expect(await rowsOf(env.DB, "audit_entries", tenant.id)).toBe(0);
  });

  it("is the platform key's only: a tenant's own key is refused", async () => {
    const tenant = await createTenant();
    const res = await call(`/v1/platform/tenants/${tenant.id}`, tenant.key, {
      method: "PATCH",
      body: JSON.stringify({ send_log: "SEND_LOG_2" }),
    });
    await expectProblem(res, {
      status: 401,
      slug: "unauthenticated",
      instance: `/v1/platform/tenants/${tenant.id}`,
      detail: /only the platform key/,
    });
    const row = await env.DB.prepare("SELECT send_log FROM tenants WHERE id = ?")
      .bind(tenant.id)
      .first<{ send_log: string }>();
    expect(row?.send_log).toBe("DB");
  });

  it("records the move as tenant.send_log, and moving back keeps every partition read", async () => {
    const tenant = await createTenant();
    expect(await (await patch(tenant.id, { send_log: "SEND_LOG_2" })).json()).toMatchObject({
      send_log: "SEND_LOG_2",
      previous_send_logs: ["DB"],
    });
    const { results } = await env.DB.prepare(
      "SELECT action, diff FROM audit_entries WHERE tenant_id = ? ORDER BY seq",
    )
      .bind(tenant.id)
      .all<{ action: string; diff: string }>();
    expect(results.map((r) => r.action)).toEqual(["tenant.send_log"]);
    expect(results[0]?.diff).toContain("SEND_LOG_2");

    // The same partition again changes nothing and records nothing.
    expect((await patch(tenant.id, { send_log: "SEND_LOG_2" })).status).toBe(200);
    expect(await rowsOf(env.DB, "audit_entries", tenant.id)).toBe(1);

    // Back to DB: DB is current again, SEND_LOG_2 keeps what it got meanwhile.
    expect(await (await patch(tenant.id, { send_log: "DB" })).json()).toMatchObject({
      send_log: "DB",
      previous_send_logs: ["SEND_LOG_2"],
    });
    expect(await rowsOf(env.DB, "audit_entries", tenant.id)).toBe(2);
    const listed = await platform(`/v1/platform/tenants/${tenant.id}`);
    expect(await listed.json()).toMatchObject({
      send_log: "DB",
      previous_send_logs: ["SEND_LOG_2"],
    });
  });

  it("places new tenants over SEND_LOG_SHARED by a hash of their id", async () => {
    const shared = { ...env, SEND_LOG_SHARED: "DB, SEND_LOG_2" } as Env;
    const ids = Array.from({ length: 40 }, (_, i) => `tnt_${String(i).padStart(26, "0")}`);
    const placed = await Promise.all(ids.map((id) => sharedSendLogFor(shared, id)));
    expect(new Set(placed)).toEqual(new Set(["DB", "SEND_LOG_2"]));
    // The same id, the same place.
    expect(await Promise.all(ids.map((id) => sharedSendLogFor(shared, id)))).toEqual(placed);
    // A name that is not a configured partition is left out; none left is DB.
    const unknown = { ...env, SEND_LOG_SHARED: "SEND_LOG_9" } as Env;
    expect(await sharedSendLogFor(unknown, ids[0] ?? "")).toBe("DB");
    expect(await sharedSendLogFor(env, ids[0] ?? "")).toBe("DB");
  });
});

describe("the sweeps over both partitions", () => {
  it("expires overdue sent messages on the current and the previous partition", async () => {
    const tenant = await createTenant();
    await placeOn(tenant.id, "SEND_LOG_2", ["DB"]);
    const long = Date.now() - 60_000;
    const ids: [D1Database, string][] = [];
    for (const db of [env.DB, SL2]) {
      const id = newId("msg", long);
      await database(db)
        .insert(messages)
        .values({
          id,
          tenantId: tenant.id,
          channel: "sms",
          recipient: "+8613800138405",
          body: "Hello",
          mode: "live",
          status: "sent",
          segments: 1,
          encoding: "GSM-7",
          provider: "sandbox",
          providerMessageId: `sbx-${id}`,
          createdAt: long,
          sendAt: long,
          updatedAt: long,
          sentAt: long,
        });
      ids.push([db, id]);
    }
    // The dispatcher expects a receipt by now: its next alarm run sweeps.
    const stub = dispatcherOf(env, tenant.id);
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      const { meta } = instance as unknown as { meta: DispatcherMeta };
      meta.rememberTenant(state.storage.sql, tenant.id);
      meta.expectReceiptBy(state.storage.sql, Date.now() - 1000);
      await instance.alarm();
    });
    for (const [db, id] of ids) {
      expect(await statusOn(db, id)).toBe("expired");
    }
  });

  it("deletes a moved tenant's old messages on both partitions by its retention", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ retention: { bodies_days: 1, messages_days: 1, inbound_days: 1 } }),
    });
    expect(res.status).toBe(200);
    await placeOn(tenant.id, "SEND_LOG_2", ["DB"]);
    const old = Date.now() - 3 * DAY_MS;
    for (const db of [env.DB, SL2]) {
      await database(db)
        .insert(messages)
        .values({
          id: newId("msg", old),
          tenantId: tenant.id,
          channel: "sms",
          recipient: "+8613800138406",
          body: "Hello",
          mode: "live",
          status: "delivered",
          segments: 1,
          encoding: "GSM-7",
          createdAt: old,
          sendAt: old,
          updatedAt: old,
        });
    }
    const run = await enforceRetentionEverywhere(env, Date.now());
    expect(run.deleted).toBeGreaterThanOrEqual(2);
    expect(await rowsOf(env.DB, "messages", tenant.id)).toBe(0);
    expect(await rowsOf(SL2, "messages", tenant.id)).toBe(0);
  });
});

describe("a tenant spread over several partitions", () => {
  it("logs each dispatcher shard's messages to its own partition, and reads and receipts find them all", async () => {
    const tenant = await createTenant();
    const shards = await patch(tenant.id, { dispatch_shards: 2 });
    expect(shards.status).toBe(200);
    const spread = await patch(tenant.id, { send_log_spread: ["SEND_LOG_2"] });
    expect(spread.status).toBe(200);
    expect(await spread.json()).toMatchObject({
      send_log: "DB",
      send_log_spread: ["SEND_LOG_2"],
      previous_send_logs: [],
    });

    // Recipients of both shards: shard 0 logs to DB, shard 1 to SEND_LOG_2.
    const sent: { id: string; to: string; shard: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const to = `+86138001385${String(i).padStart(2, "0")}`;
      sent.push({ id: await send(tenant, to), to, shard: shardOf(to, 2) });
    }
    expect(new Set(sent.map((m) => m.shard))).toEqual(new Set([0, 1]));
    for (const m of sent) {
      // Delivered (its receipt found on the partition that holds it), there and only there.
      await reaches(m.shard === 0 ? env.DB : SL2, m.id, "delivered");
      expect(await statusOn(m.shard === 0 ? SL2 : env.DB, m.id)).toBeUndefined();
      expect(await attemptsOf(m.shard === 0 ? env.DB : SL2, m.id)).toBe(1);
    }

    // The API reads both: the list in order, every message once.
    const list = await tenant.api("/v1/messages?limit=100");
    const listed = ((await list.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    expect(listed).toEqual(sent.map((m) => m.id).reverse());
  });

  it("refuses an unknown spread partition with a 422 that names it, and changes nothing", async () => {
    const tenant = await createTenant();
    const res = await patch(tenant.id, { send_log_spread: ["SEND_LOG_2", "SEND_LOG_9"] });
    const problem = await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/platform/tenants/${tenant.id}`,
    });
    expect(problem.errors?.[0]?.pointer).toBe("/send_log_spread/1");
    const placement = await placementOf(env, tenant.id);
    expect(placement.sendLogSpread ?? []).toEqual([]);
  });

  it("ends a spread: the partition that stops taking messages joins previous_send_logs, audited", async () => {
    const tenant = await createTenant();
    expect((await patch(tenant.id, { send_log_spread: ["SEND_LOG_2"] })).status).toBe(200);
    const res = await patch(tenant.id, { send_log_spread: [] });
    expect(await res.json()).toMatchObject({
      send_log: "DB",
      send_log_spread: [],
      previous_send_logs: ["SEND_LOG_2"],
    });
    const audit = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_entries WHERE tenant_id = ? AND action = 'tenant.send_log'",
    )
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(audit?.n).toBe(2);
  });
});
