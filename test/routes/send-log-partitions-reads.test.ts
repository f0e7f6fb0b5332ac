/**
 * The API reads a tenant's send log over every partition that holds some of it (its current one
 * and the ones it was moved from): lists and their cursors, a message by id, exports, batch
 * counts, statistics, error breakdowns and conversation threads come out as one database holding
 * every row would give them. Rows are written straight into each partition's D1.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { forgetPlacement } from "../../src/db/send-log-partitions";
import { newId } from "../../src/lib/ids";
import { allPages, insertConversation, insertInbound } from "../support/conversations";
import { signedIn } from "../support/dashboard";
import { expectProblem } from "../support/problem";
import { call, createTenant, type TestTenant } from "../support/tenants";

const T0 = Date.parse("2026-11-02T08:00:00Z");
const MINUTE = 60_000;
const DAY = "from=2026-11-02&to=2026-11-02&tz=UTC";

interface Row {
  at: number;
  to?: string;
  channel?: "sms" | "wechat";
  status?: "queued" | "sent" | "delivered" | "failed";
  /** delivered: this long after acceptance (the latency histograms). */
  latencyMs?: number;
  reason?: string;
  batchId?: string;
  mode?: "live" | "test";
  /** Writes one attempt beside it. */
  attempt?: boolean;
}

/**
 * A message written into one partition as the dispatcher and the status writer would leave it:
 * inserted, then moved to its final status, so the rollup triggers count it as they do in use.
 */
async function logRow(d1: D1Database, tenantId: string, row: Row): Promise<string> {
  const id = newId("msg", row.at);
  const final = row.status ?? "delivered";
  const first = final === "delivered" || final === "failed" ? "sent" : final;
  await d1
    .prepare(
      `INSERT INTO messages (id, tenant_id, channel, recipient, country, body, mode, status,
         segments, encoding, provider, cost_micros, currency, batch_id, created_at, send_at,
         updated_at, sent_at)
       VALUES (?, ?, ?, ?, 'CN', ?, ?, ?, 1, 'UCS-2', 'sandbox', 6500, 'USD', ?, ?, ?, ?, ?)`,
    )
    .bind(
      id,
      tenantId,
      row.channel ?? "sms",
      row.to ?? "+8613800138000",
      `body ${id}`,
      row.mode ?? "live",
      first,
      row.batchId ?? null,
      row.at,
      row.at,
      row.at,
      first === "sent" ? row.at + 10 : null,
    )
    .run();
  if (final !== first) {
    const done = row.at + (row.latencyMs ?? 100);
    await d1
      .prepare(
        "UPDATE messages SET status = ?, status_reason = ?, completed_at = ?, updated_at = ? WHERE id = ?",
      )
      .bind(final, row.reason ?? null, done, done, id)
      .run();
  }
  if (row.attempt) {
    await d1
      .prepare(
        `INSERT INTO message_attempts (id, message_id, tenant_id, attempt, provider, outcome,
           latency_ms, created_at) VALUES (?, ?, ?, 0, 'sandbox', 'sent', 5, ?)`,
      )
      .bind(newId("att", row.at), id, tenantId, row.at)
      .run();
  }
  return id;
}

/** Places the tenant (before its key's first call, so its cached configuration has it). */
async function place(tenant: TestTenant, sendLog: string, previous: string[]) {
  await env.DB.prepare("UPDATE tenants SET send_log = ?, previous_send_logs = ? WHERE id = ?")
    .bind(sendLog, JSON.stringify(previous), tenant.id)
    .run();
  forgetPlacement(tenant.id);
}

/** A tenant moved from DB to SEND_LOG_2: older messages on DB, newer ones on SEND_LOG_2. */
async function movedTenant() {
  const tenant = await createTenant();
  await place(tenant, "SEND_LOG_2", ["DB"]);
  return tenant;
}

async function json<T>(res: Response): Promise<T> {
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

let moved: TestTenant;

beforeEach(async () => {
  moved = await movedTenant();
});

describe("GET /v1/messages over send-log partitions", () => {
  it("lists both partitions' messages newest first, page by page, none missing or repeated", async () => {
    // Interleaved: which partition a message is on does not follow its age.
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const d1 = i % 3 === 0 || i % 5 === 0 ? env.DB : env.SEND_LOG_2;
      ids.push(await logRow(d1, moved.id, { at: T0 + i * MINUTE }));
    }
    const expected = [...ids].reverse();
    for (const limit of [1, 4, 7, 23, 100]) {
      const { items, pages } = await allPages<{ id: string }>(moved.api, "/v1/messages?", limit);
      expect(items.map((m) => m.id)).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(23 / limit)));
    }
  });

  it("applies the filters on every partition before merging", async () => {
    const a = await logRow(env.DB, moved.id, { at: T0, status: "failed", reason: "x" });
    await logRow(env.SEND_LOG_2, moved.id, { at: T0 + MINUTE });
    const c = await logRow(env.SEND_LOG_2, moved.id, {
      at: T0 + 2 * MINUTE,
      status: "failed",
      reason: "x",
    });
    await logRow(env.DB, moved.id, { at: T0 + 3 * MINUTE });
    const { items } = await allPages<{ id: string }>(moved.api, "/v1/messages?status=failed&", 1);
    expect(items.map((m) => m.id)).toEqual([c, a]);
  });

  it("gets a message, with its attempts, from whichever partition holds it", async () => {
    const old = await logRow(env.DB, moved.id, { at: T0, attempt: true });
    const recent = await logRow(env.SEND_LOG_2, moved.id, { at: T0 + MINUTE, attempt: true });
    for (const id of [old, recent]) {
      const message = await json<{ id: string; status: string; attempts: unknown[] }>(
        await moved.api(`/v1/messages/${id}`),
      );
      expect(message.id).toBe(id);
      expect(message.status).toBe("delivered");
      expect(message.attempts).toHaveLength(1);
    }
  });

  it("exports both partitions in the list's order across the export's pages", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(await logRow(i % 2 ? env.DB : env.SEND_LOG_2, moved.id, { at: T0 + i * MINUTE }));
    }
    const res = await moved.api("/v1/messages/export?format=ndjson");
    expect(res.status).toBe(200);
    const lines = (await res.text()).split("\n").filter((line) => line !== "");
    const exported = lines.map((line) => (JSON.parse(line) as { id: string }).id);
    expect(exported).toEqual([...ids].reverse());
  });
});

describe("another tenant over the same partitions", () => {
  it("sees none of the first tenant's messages: a 404 identical to a missing one", async () => {
    const onDb = await logRow(env.DB, moved.id, { at: T0 });
    const onSecond = await logRow(env.SEND_LOG_2, moved.id, { at: T0 + MINUTE });
    const other = await createTenant();
    await place(other, "SEND_LOG_2", []);
    const mine = await logRow(env.SEND_LOG_2, other.id, { at: T0 + 2 * MINUTE });
    const { items } = await allPages<{ id: string }>(other.api, "/v1/messages?", 10);
    expect(items.map((m) => m.id)).toEqual([mine]);
    const missing = newId("msg", T0);
    const problemOf = async (id: string) => {
      const problem = await expectProblem(await other.api(`/v1/messages/${id}`), {
        status: 404,
        slug: "not-found",
        instance: `/v1/messages/${id}`,
      });
      return { ...problem, detail: problem.detail.replace(id, "ID"), instance: "", request_id: "" };
    };
    const expected = await problemOf(missing);
    expect(await problemOf(onDb)).toEqual(expected);
    expect(await problemOf(onSecond)).toEqual(expected);
    const stats = await json<{ data: { messages: number }[] }>(await other.api(`/v1/stats?${DAY}`));
    expect(stats.data.reduce((n, r) => n + r.messages, 0)).toBe(1);
  });
});

describe("batch counts over send-log partitions", () => {
  it("adds each partition's count by status", async () => {
    const batchId = newId("bat", T0);
    await env.DB.prepare(
      `INSERT INTO batches (id, tenant_id, kind, mode, accepted, rejected, send_at, created_at)
       VALUES (?, ?, 'notification', 'live', 7, 0, ?, ?)`,
    )
      .bind(batchId, moved.id, T0, T0)
      .run();
    const rows: [D1Database, Row["status"]][] = [
      [env.DB, "delivered"],
      [env.DB, "delivered"],
      [env.DB, "failed"],
      [env.SEND_LOG_2, "delivered"],
      [env.SEND_LOG_2, "failed"],
      [env.SEND_LOG_2, "queued"],
    ];
    for (const [i, [d1, status]] of rows.entries()) {
      await logRow(d1, moved.id, { at: T0 + i, status, batchId, reason: "r" });
    }
    const batch = await json<{ status: string; counts: Record<string, number> }>(
      await moved.api(`/v1/batches/${batchId}`),
    );
    // One accepted message reached neither partition yet: it counts as waiting.
    expect(batch.counts).toEqual({ delivered: 3, failed: 2, queued: 2 });
    expect(batch.status).toBe("sending");
  });
});

describe("statistics over send-log partitions", () => {
  it("adds the rollups of both partitions, and their latency histograms bucket by bucket", async () => {
    // DB: three fast deliveries; SEND_LOG_2: one slow one and one failure. Either partition alone
    // gives other quantiles than the two together (p50 250 ms, p95 5 s).
    for (let i = 0; i < 3; i++) {
      await logRow(env.DB, moved.id, { at: T0 + i * MINUTE, latencyMs: 100 });
    }
    await logRow(env.SEND_LOG_2, moved.id, { at: T0 + 10 * MINUTE, latencyMs: 3_000 });
    await logRow(env.SEND_LOG_2, moved.id, {
      at: T0 + 11 * MINUTE,
      status: "failed",
      reason: "blocked",
    });
    const { data } = await json<{ data: Record<string, unknown>[] }>(
      await moved.api(`/v1/stats?${DAY}`),
    );
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({
      messages: 5,
      delivered: 4,
      failed: 1,
      segments: 5,
      cost: 0.0325,
      delivery_rate: 0.8,
      p50_delivery_ms: 250,
      p95_delivery_ms: 5_000,
    });
    // Grouped by hour (the streamed read) and by status (the grouped one): the same sums.
    const byHour = await json<{ data: Record<string, unknown>[] }>(
      await moved.api(`/v1/stats?${DAY}&group_by=hour`),
    );
    expect(byHour.data).toHaveLength(1);
    expect(byHour.data[0]).toMatchObject({ messages: 5, delivered: 4, p95_delivery_ms: 5_000 });
    const byStatus = await json<{ data: { status: string; messages: number }[] }>(
      await moved.api(`/v1/stats?${DAY}&group_by=status`),
    );
    expect(Object.fromEntries(byStatus.data.map((r) => [r.status, r.messages]))).toEqual({
      delivered: 4,
      failed: 1,
    });
  });

  it("reads the inbound counters on DB for a tenant whose send log is elsewhere", async () => {
    const tenant = await createTenant();
    await place(tenant, "SEND_LOG_2", []);
    await logRow(env.SEND_LOG_2, tenant.id, { at: T0 });
    const counterpart = "+8613900139000";
    const id = await insertConversation(tenant.id, { counterpart, lastActivityAt: T0 });
    await insertInbound(tenant.id, { id, counterpart }, { body: "hi", at: T0 + MINUTE });
    const { data } = await json<{ data: Record<string, unknown>[] }>(
      await tenant.api(`/v1/stats?${DAY}`),
    );
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ messages: 1, delivered: 1, inbound: 1 });
  });

  it("ranks error reasons by their count summed over the partitions", async () => {
    // "a" leads on DB alone, "b" on SEND_LOG_2 alone; summed, "b" (4) is ahead of "a" (3).
    const failures: [D1Database, string, number][] = [
      [env.DB, "a", 3],
      [env.DB, "b", 2],
      [env.SEND_LOG_2, "b", 2],
      [env.SEND_LOG_2, "c", 3],
    ];
    let at = T0;
    for (const [d1, reason, n] of failures) {
      for (let i = 0; i < n; i++) {
        at += 1000;
        await logRow(d1, moved.id, { at, status: "failed", reason });
      }
    }
    const { data } = await json<{ data: { reason: string; count: number }[] }>(
      await moved.api(`/v1/stats/errors?${DAY}`),
    );
    expect(data.map((r) => [r.reason, r.count])).toEqual([
      ["b", 4],
      ["a", 3],
      ["c", 3],
    ]);
    const top = await json<{ data: { reason: string; count: number }[] }>(
      await moved.api(`/v1/stats/errors?${DAY}&limit=1`),
    );
    expect(top.data.map((r) => [r.reason, r.count])).toEqual([["b", 4]]);
  });
});

describe("conversation threads over send-log partitions", () => {
  it("merges inbound messages with the sent ones of both partitions, oldest first, across pages", async () => {
    const counterpart = "+8613900139000";
    const id = await insertConversation(moved.id, { counterpart, lastActivityAt: T0 });
    const conversation = { id, counterpart };
    const expected = [
      await insertInbound(moved.id, conversation, { body: "hi", at: T0 }),
      await logRow(env.DB, moved.id, { at: T0 + MINUTE, to: counterpart }),
      await insertInbound(moved.id, conversation, { body: "and?", at: T0 + 2 * MINUTE }),
      await logRow(env.SEND_LOG_2, moved.id, { at: T0 + 3 * MINUTE, to: counterpart }),
      await logRow(env.DB, moved.id, { at: T0 + 4 * MINUTE, to: counterpart }),
      await logRow(env.SEND_LOG_2, moved.id, { at: T0 + 5 * MINUTE, to: counterpart }),
    ];
    // Another number's message is not this thread's.
    await logRow(env.SEND_LOG_2, moved.id, { at: T0 + 6 * MINUTE, to: "+8613900139001" });
    for (const limit of [1, 2, 4, 50]) {
      const { items } = await allPages<{ id: string }>(
        moved.api,
        `/v1/conversations/${id}/messages?`,
        limit,
      );
      expect(items.map((m) => m.id)).toEqual(expected);
    }
  });
});

describe("the dashboard over send-log partitions", () => {
  it("lists and shows both partitions' messages, and counts them all on the overview", async () => {
    const now = Date.now();
    const old = await logRow(env.DB, moved.id, { at: now - 2 });
    const recent = await logRow(env.SEND_LOG_2, moved.id, { at: now - 1, status: "failed" });
    const { cookie } = await signedIn(moved, "admin");
    const page = async (path: string) => {
      const res = await call(path, null, { headers: { cookie } });
      expect(res.status).toBe(200);
      return res.text();
    };
    const list = await page("/dashboard/messages");
    expect(list).toContain(`/dashboard/messages/${old}`);
    expect(list).toContain(`/dashboard/messages/${recent}`);
    expect(list.indexOf(`/dashboard/messages/${recent}`)).toBeLessThan(
      list.indexOf(`/dashboard/messages/${old}`),
    );
    expect(await page(`/dashboard/messages/${old}`)).toContain(old);
    const overview = await page("/dashboard/overview");
    const today = /aria-label="Today">([\s\S]*?)<\/section>/.exec(overview)?.[1] ?? "";
    expect(today).toMatch(/<dt>Sent<\/dt><dd>2<\/dd>/);
    expect(today).toMatch(/<dt>Failed<\/dt><dd>1<\/dd>/);
  });
});
