/**
 * Sharded dispatch (domain/dispatch-shards) through the API: PATCH /v1/platform/tenants/{id}
 * {dispatch_shards}, a recipient's messages on its shard, the rate shared, idempotency keys exact
 * across shards, batches and cancels, and a change of N with messages in flight.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherShard } from "../../src/delivery/dispatcher";
import { shardOf } from "../../src/domain/dispatch-shards";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { platform } from "../support/platform";
import { expectProblem } from "../support/problem";
import {
  createTenant,
  eventually,
  messageReaches,
  postJson,
  type TestTenant,
} from "../support/tenants";

const patch = (body: unknown): RequestInit => ({
  method: "PATCH",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

const setShards = (id: string, shards: number) =>
  platform(`/v1/platform/tenants/${id}`, patch({ dispatch_shards: shards }));

const phone = (n: number) => `+86138${String(n).padStart(8, "0")}`;

/** The outbox and meta of one shard. */
function shardState(tenantId: string, shard: number) {
  return runInDurableObject(
    dispatcherShard(env, tenantId, shard),
    (_i: TenantDispatcher, state) => ({
      recipients: state.storage.sql
        .exec<{ recipient: string; id: string }>("SELECT recipient, id FROM outbox ORDER BY seq")
        .toArray(),
      rate: state.storage.sql
        .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'send_rate'")
        .toArray()[0]?.value,
    }),
  );
}

async function send(tenant: TestTenant, to: string, body = "hi", key?: string) {
  const res = await tenant.api(
    "/v1/messages",
    postJson({ to, body }, key ? { "idempotency-key": key } : {}),
  );
  return { status: res.status, body: (await res.json()) as { id: string; status: string } };
}

describe("PATCH /v1/platform/tenants/{id} {dispatch_shards}", () => {
  it("is the platform key's only, bounded, and audited", async () => {
    const tenant = await createTenant();
    expect(
      (await tenant.api(`/v1/platform/tenants/${tenant.id}`, patch({ dispatch_shards: 2 }))).status,
    ).toBe(401);
    const path = `/v1/platform/tenants/${tenant.id}`;
    for (const bad of [0, 33, 2.5]) {
      await expectProblem(await setShards(tenant.id, bad), {
        status: 400,
        slug: "validation-error",
        instance: path,
        pointers: ["/dispatch_shards"],
      });
    }
    const res = await setShards(tenant.id, 4);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ dispatch_shards: 4, previous_dispatch_shards: 1 });
    const entries = (await listAuditEntries(env, tenant.id, {}, { limit: 10 })).data;
    const entry = entries.find((e) => e.action === "tenant.dispatch_shards");
    expect(entry).toMatchObject({ actorType: "platform" });
    expect(JSON.parse(entry?.diff ?? "{}")).toMatchObject({ dispatch_shards: { from: 1, to: 4 } });
  });

  it("is refused while the tenant has a monthly budget or a prepaid balance, changing nothing", async () => {
    const withBalance = await createTenant();
    expect(
      (await platform(`/v1/platform/tenants/${withBalance.id}/balance`, postJson({ amount: 5 })))
        .status,
    ).toBe(200);
    await expectProblem(await setShards(withBalance.id, 2), {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/platform/tenants/${withBalance.id}`,
      pointers: ["/dispatch_shards"],
    });
    const unchanged = await platform(`/v1/platform/tenants/${withBalance.id}`);
    expect(await unchanged.json()).toMatchObject({
      dispatch_shards: 1,
      previous_dispatch_shards: null,
    });
    const sharded = await createTenant();
    expect((await setShards(sharded.id, 2)).status).toBe(200);
    await expectProblem(
      await platform(`/v1/platform/tenants/${sharded.id}/balance`, postJson({ amount: 5 })),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: `/v1/platform/tenants/${sharded.id}/balance`,
        pointers: ["/amount"],
      },
    );
    await expectProblem(await sharded.api("/v1/tenant", patch({ budget: { monthly_limit: 10 } })), {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/tenant",
      pointers: ["/budget"],
    });
  });
});

describe("a sharded tenant", () => {
  it("keeps each recipient on its shard, shares the rate exactly, and delivers everything", async () => {
    const tenant = await createTenant({ sendRate: 0 });
    expect((await setShards(tenant.id, 4)).status).toBe(200);
    // Finish the change (nothing was held): the four shards now share the rate.
    expect((await setShards(tenant.id, 4)).status).toBe(200);
    const recipients = Array.from({ length: 12 }, (_, i) => phone(100 + i));
    const ids = new Map<string, string>();
    for (const to of recipients) {
      const sent = await send(tenant, to);
      expect(sent.status).toBe(202);
      ids.set(to, sent.body.id);
    }
    const used = new Set<number>();
    for (let shard = 0; shard < 4; shard++) {
      const state = await shardState(tenant.id, shard);
      for (const row of state.recipients) {
        expect(shardOf(row.recipient, 4)).toBe(shard);
        used.add(shard);
      }
    }
    expect(used.size).toBeGreaterThan(1);
    expect((await setShards(tenant.id, 4)).status).toBe(200);
    expect(
      (await platform(`/v1/platform/tenants/${tenant.id}`, patch({ send_rate: 50 }))).status,
    ).toBe(200);
    const rates = await Promise.all(
      [0, 1, 2, 3].map(async (s) => Number((await shardState(tenant.id, s)).rate)),
    );
    expect(rates).toEqual([13, 13, 12, 12]);
    expect(rates.reduce((a, b) => a + b, 0)).toBe(50);
    // Results come back to the shard that released each message: all of them end delivered.
    for (const id of ids.values()) {
      expect((await messageReaches(tenant, id, undefined, 15_000)).status).toBe("delivered");
    }
  });

  it("refuses SMS to numbers that opted out before the shards existed, and after", async () => {
    const tenant = await createTenant();
    const candidates = Array.from({ length: 80 }, (_, i) => phone(700 + i));
    const early = candidates.find((p) => shardOf(p, 4) !== 0) as string;
    const late = candidates.find((p) => p !== early && shardOf(p, 4) !== 0) as string;
    expect((await tenant.api("/v1/opt-outs", postJson({ phone: early }))).status).toBe(201);
    expect((await setShards(tenant.id, 4)).status).toBe(200);
    expect((await send(tenant, early)).status).toBe(422);
    expect((await tenant.api("/v1/opt-outs", postJson({ phone: late }))).status).toBe(201);
    expect((await send(tenant, late)).status).toBe(422);
    // Opting back in reaches the shard too.
    expect(
      (await tenant.api(`/v1/opt-outs/${encodeURIComponent(late)}`, { method: "DELETE" })).status,
    ).toBe(204);
    expect((await send(tenant, late)).status).toBe(202);
  });

  it("keeps an idempotency key exact across shards: a replay, and a 422 for another body", async () => {
    const tenant = await createTenant();
    expect((await setShards(tenant.id, 4)).status).toBe(200);
    const a = phone(200);
    const b = Array.from({ length: 50 }, (_, i) => phone(300 + i)).find(
      (p) => shardOf(p, 4) !== shardOf(a, 4),
    ) as string;
    const first = await send(tenant, a, "code 1", "k-1");
    expect(first.status).toBe(202);
    const again = await send(tenant, a, "code 1", "k-1");
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    // Same key, another body whose recipient is on another shard: still a conflict.
    const other = await send(tenant, b, "code 1", "k-1");
    expect(other.status).toBe(422);
    // Concurrent first uses of one key with two bodies: exactly one is accepted.
    const [x, y] = await Promise.all([send(tenant, a, "x", "k-2"), send(tenant, b, "y", "k-2")]);
    expect([x.status, y.status].sort()).toEqual([202, 422]);
  });

  it("spreads a batch over the shards, and cancels a scheduled message wherever it is", async () => {
    const tenant = await createTenant();
    expect((await setShards(tenant.id, 4)).status).toBe(200);
    const recipients = Array.from({ length: 16 }, (_, i) => ({ to: phone(400 + i) }));
    const res = await tenant.api("/v1/batches", postJson({ body: "Sale", recipients }));
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { id: string; accepted: number };
    expect(batch.accepted).toBe(16);
    const done = await eventually(
      async () => {
        const read = (await (await tenant.api(`/v1/batches/${batch.id}`)).json()) as {
          status: string;
          counts: Record<string, number>;
        };
        return read.counts.delivered === 16 ? read : undefined;
      },
      20_000,
      "the batch delivered",
    );
    expect(done.counts.delivered).toBe(16);
    // A scheduled message on a shard other than 0.
    const to = Array.from({ length: 50 }, (_, i) => phone(500 + i)).find(
      (p) => shardOf(p, 4) !== 0,
    ) as string;
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await tenant.api(
      "/v1/messages",
      postJson({ to, body: "later", send_at: later }),
    );
    const { id } = (await scheduled.json()) as { id: string };
    const canceled = await tenant.api(`/v1/messages/${id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ status: "canceled" });
  });

  it("changes N with messages in flight: nothing lost, a recipient's order kept on its old shard", async () => {
    const tenant = await createTenant({ sendRate: 0 });
    // A recipient that moves off shard 0 when N goes from 1 to 4.
    const to = Array.from({ length: 50 }, (_, i) => phone(600 + i)).find(
      (p) => shardOf(p, 4) !== 0,
    ) as string;
    const before = [await send(tenant, to, "one"), await send(tenant, to, "two")];
    expect((await setShards(tenant.id, 4)).status).toBe(200);
    // Its new message follows the two still held on shard 0, not on its new shard.
    // With a key: shard 0, its home, forwards it, to itself here (the old shard).
    const after = await send(tenant, to, "three", "k-three");
    expect(after.status).toBe(202);
    expect((await send(tenant, to, "three", "k-three")).body.id).toBe(after.body.id);
    const old = await shardState(tenant.id, 0);
    expect(old.recipients.map((r) => r.id)).toEqual([...before, after].map((m) => m.body.id));
    expect((await shardState(tenant.id, shardOf(to, 4))).recipients).toEqual([]);
    // Another change waits until the old shard has sent them.
    await expectProblem(await setShards(tenant.id, 8), {
      status: 409,
      slug: "conflict",
      instance: `/v1/platform/tenants/${tenant.id}`,
      detail: /draining: 3 message/,
    });
    expect(
      (await platform(`/v1/platform/tenants/${tenant.id}`, patch({ send_rate: 20 }))).status,
    ).toBe(200);
    const sentAt: string[] = [];
    for (const m of [...before, after]) {
      const done = await messageReaches(tenant, m.body.id, "delivered", 15_000);
      sentAt.push(String(done.sent_at));
    }
    expect([...sentAt].sort()).toEqual(sentAt);
    // Drained: the same number finishes the change, and a new message goes to its shard now.
    await eventually(
      async () => ((await setShards(tenant.id, 4)).status === 200 ? true : undefined),
      10_000,
      "the change finished",
    );
    const next = await send(tenant, to, "four");
    expect(next.status).toBe(202);
    expect((await shardState(tenant.id, 0)).recipients.map((r) => r.id)).not.toContain(
      next.body.id,
    );
  });
});
