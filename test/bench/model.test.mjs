// The load model's arithmetic: `node --test test/bench/model.test.mjs` (no server).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ASSUMPTIONS,
  componentLoads,
  DEFAULT_SETTINGS,
  firstToSaturate,
  requiredSettings,
  storageNeeds,
} from "./model.mjs";

const byName = (rows, prefix) => rows.find((r) => r.component.startsWith(prefix));

test("a tenant's dispatcher shard carries its accepts, ten release ticks and two reports per queue batch", () => {
  const rows = componentLoads({ tenants: 0, rate: 0, hotRate: 1000 });
  // 1000 accepts + 10 ticks + 2 × 1000 / 100 reports = 1030 req/s against 500.
  const shard = byName(rows, "dispatcher shard");
  assert.equal(shard.demand, 1030);
  assert.equal(shard.utilisation, 1030 / 500);
  const four = byName(
    componentLoads(
      { tenants: 0, rate: 0, hotRate: 1000 },
      { ...DEFAULT_SETTINGS, dispatchShards: 4 },
    ),
    "dispatcher shard",
  );
  assert.equal(four.demand, 250 + 10 + 5);
});

test("send-log statements per message: 1/7 rows, 8/100 consumer, one receipt per tenant per batch", () => {
  // One tenant: its batches are whole, so a receipt per 100 messages.
  const one = byName(componentLoads({ tenants: 0, rate: 0, hotRate: 700 }), "D1 send-log");
  assert.ok(Math.abs(one.demand - 700 * (1 / 7 + 0.08 + 0.01)) < 1e-9);
  // 1,000 even tenants at 1,000 msg/s: a batch of 100 holds 0.1 of a tenant's, so a receipt each.
  const spread = byName(componentLoads({ tenants: 1000, rate: 1000 }), "D1 send-log");
  assert.ok(Math.abs(spread.demand - 1000 * (1 / 7 + 0.08 + 1)) < 1e-9);
  // At 1 ms a statement one query at a time is 1,000 a second.
  assert.equal(spread.capacity, 1000 / ASSUMPTIONS.d1StatementMs);
});

test("partitions divide the spread tenants' work, and one tenant's over at most its shards", () => {
  const spread = (n) =>
    byName(
      componentLoads({ tenants: 1000, rate: 10_000 }, { ...DEFAULT_SETTINGS, d1Partitions: n }),
      "D1 send-log",
    ).demand;
  assert.ok(Math.abs(spread(4) - spread(1) / 4) < 1e-6);
  const hot = (partitions, shards = 1) =>
    byName(
      componentLoads(
        { tenants: 0, rate: 0, hotRate: 5000 },
        { ...DEFAULT_SETTINGS, d1Partitions: partitions, dispatchShards: shards },
      ),
      "D1 send-log",
    ).demand;
  // One shard logs to one partition, whatever the number of partitions.
  assert.equal(hot(8), hot(1));
  // Four shards spread over four partitions (or more): a quarter each.
  assert.ok(Math.abs(hot(4, 4) - hot(1) / 4) < 1e-9);
  assert.ok(Math.abs(hot(8, 4) - hot(1) / 4) < 1e-9);
});

test("inbound messages load the main database, which partitions do not divide", () => {
  const rows = (n) =>
    componentLoads(
      { tenants: 0, rate: 0, inboundRate: 2000 },
      { ...DEFAULT_SETTINGS, d1Partitions: n },
    );
  assert.equal(byName(rows(1), "D1 main database").demand, 2000 * 3);
  assert.equal(byName(rows(8), "D1 main database").demand, 2000 * 3);
  assert.equal(byName(rows(8), "D1 send-log").demand, 0);
  assert.deepEqual(requiredSettings({ tenants: 0, rate: 0, inboundRate: 2000 }).unreachable, [
    "D1 main database (inbound, conversations)",
  ]);
});

test("queues per lane divide each queue's messages", () => {
  const rows = (n) =>
    componentLoads({ tenants: 10, rate: 10_000 }, { ...DEFAULT_SETTINGS, queuesPerLane: n });
  assert.equal(byName(rows(1), "dispatch queue, transactional").demand, 5000);
  assert.equal(byName(rows(4), "dispatch queue, transactional").demand, 1250);
  assert.equal(byName(rows(4), "dispatch queue, bulk").utilisation, 0.25);
});

test("each lane has its own dispatch queue: a bulk flood loads only the bulk one", () => {
  const rows = componentLoads({ tenants: 0, rate: 0, hotRate: 5000, bulkShare: 1 });
  assert.equal(byName(rows, "dispatch queue, bulk").demand, 5000);
  assert.equal(byName(rows, "dispatch queue, transactional").demand, 0);
  const mixed = componentLoads({ tenants: 10, rate: 8000, bulkShare: 0.75 });
  assert.equal(byName(mixed, "dispatch queue, transactional").demand, 2000);
  assert.equal(byName(mixed, "dispatch consumers").demand, 6000);
});

test("the first to saturate is the highest utilisation, storage aside", () => {
  const rows = [
    { component: "a", utilisation: 0.5 },
    { component: "D1 storage (x)", utilisation: 9 },
    { component: "b", utilisation: 1.2 },
  ];
  assert.equal(firstToSaturate(rows).component, "b");
});

test("required settings are the smallest under the target, and say what no knob can fix", () => {
  // One tenant at 5k msg/s: shards to bring 5000/N + 10 + 100/N under 350 → N = 15.
  const hot = requiredSettings({ tenants: 0, rate: 0, hotRate: 5000 });
  assert.equal(hot.settings.dispatchShards, 15);
  assert.ok((5000 + 100) / 14 + 10 > 350 && (5000 + 100) / 15 + 10 <= 350);
  // 2,500 msg/s on each lane's queue is 50%, under the target, but the webhook queue's 10,000
  // needs 3 (67%).
  assert.equal(hot.settings.queuesPerLane, 3);
  // Its D1 work spreads over partitions as its shards do: 5,000 × (1/7 + 0.08 + 0.01) = 1,164
  // statements/s needs 2 partitions at 70% (582 each).
  assert.equal(hot.settings.d1Partitions, 2);
  assert.deepEqual(hot.unreachable, []);
  // 1k over 1,000 tenants: 1,223 statements/s needs 2 partitions at 70%.
  const spread = requiredSettings({ tenants: 1000, rate: 1000 });
  assert.deepEqual(spread.settings, { dispatchShards: 1, d1Partitions: 2, queuesPerLane: 1 });
  assert.deepEqual(spread.unreachable, []);
});

test("storage: GB a day at the average rate and partitions for the retention", () => {
  const s = storageNeeds({ tenants: 1000, rate: 1000 });
  // 1000 × 0.1 × 86,400 × 1,000 B = 8.64 GB a day; × 180 days / 10 GB = 155.5 → 156.
  assert.ok(Math.abs(s.gbPerDay - 8.64) < 1e-9);
  assert.equal(s.partitionsForRetention, 156);
  assert.ok(Math.abs(s.busiestTenantDays - 10 / 0.00864) < 1e-6);
});
