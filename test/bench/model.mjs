/**
 * The load model (`npm run bench -- --only model`): pure arithmetic, no server. For a traffic mix
 * it computes each shared component's demand against Cloudflare's published limit, the first to
 * saturate, and the smallest settings that keep every component under its target utilisation.
 *
 * Inputs, and where each comes from:
 * - Operation counts per message: counted in code and pinned by test/hot-path.test.ts (RESULTS.md,
 *   "Operations per request"): one dispatcher RPC and one dispatcher SQL write per accept; an alarm
 *   run per release tick (10 a second while draining); send-log rows written 7 to a multi-row
 *   INSERT; a queue batch of 100 in 3 D1 round trips (claim, attempts, outcomes: 1 + 1 + 1 + one
 *   UPDATE per 20 messages = 8 statements); one result report RPC and one receipt round trip per
 *   tenant per queue batch; an inbound post in 3 D1 statements and one inbound queue message
 *   (src/services/inbound/receive.ts).
 * - Local costs: taken from the latest figures in test/bench/RESULTS.md (not re-measured by this
 *   section): Worker CPU per accept 2.28 ms (section 1, 1 tenant); dispatch consumer 53 ms per
 *   batch of 100 (section 4, p50, grouped); batch staging 3.84 s per 100,000 rows (section 5);
 *   dispatcher insert 0.031 ms (section 2: insertMessage's 541 samples × 0.2 ms over ≈3,490
 *   accepts). Local figures say what our code costs; the limits below decide the ceilings.
 * - Cloudflare's published limits (docs pages cited in LIMITS and in README "Running at scale").
 * - Assumptions, named as such: D1 time per statement (the D1 FAQ's own example, 1 ms), bytes
 *   of D1 storage per message, webhook events per message, the carrier's answer time.
 */

/** Published limits; `source` is the page each comes from. */
export const LIMITS = {
  doRequestsSoft: {
    value: 500,
    source: "https://developers.cloudflare.com/durable-objects/reference/faq/",
    note: "an object is single-threaded; 200–500 storage-writing requests/s per object is the working figure, 500 taken as the soft ceiling",
  },
  doRequestsHard: {
    value: 1000,
    source: "https://developers.cloudflare.com/durable-objects/reference/faq/",
    note: "the FAQ's soft limit of about 1,000 requests/s per object",
  },
  doStorageBytes: {
    value: 10e9,
    source: "https://developers.cloudflare.com/durable-objects/platform/limits/",
    note: "storage per Durable Object 10 GB",
  },
  d1QueriesAtATime: {
    value: 1,
    source: "https://developers.cloudflare.com/d1/platform/limits/",
    note: "a database is single-threaded and runs one query at a time: throughput = 1 / query duration",
  },
  d1Bytes: {
    value: 10e9,
    source: "https://developers.cloudflare.com/d1/platform/limits/",
    note: "maximum database size 10 GB (Workers Paid)",
  },
  queueMessagesPerSecond: {
    value: 5000,
    source: "https://developers.cloudflare.com/queues/platform/limits/",
    note: "per-queue message throughput 5,000 messages/s",
  },
  sendBatchMessages: {
    value: 100,
    source: "https://developers.cloudflare.com/queues/platform/limits/",
    note: "maximum messages per sendBatch call 100 (or 256 KB); consumer batch ≤ 100",
  },
  consumerConcurrency: {
    value: 250,
    source: "https://developers.cloudflare.com/queues/platform/limits/",
    note: "concurrent consumer invocations 250 (push-based)",
  },
};

/** Per-operation counts and costs (see the header for where each comes from). */
export const COSTS = {
  acceptRpcs: 1,
  acceptDoWrites: 1,
  releaseTicksPerSecond: 10,
  sendLogRowsPerStatement: 7,
  queueBatch: 100,
  consumerStatementsPerBatch: 8,
  receiptStatementsPerTenantBatch: 1,
  inboundStatements: 3,
  inboundQueueMessages: 1,
  // Local figures from RESULTS.md.
  workerCpuMsPerAccept: 2.28,
  consumerMsPerBatchLocal: 53,
  stagingMsPerRowLocal: 3840 / 100_000,
  doInsertMsLocal: 0.031,
};

/** Named assumptions: not measured here, change them to see what moves. */
export const ASSUMPTIONS = {
  d1StatementMs: 1,
  d1BytesPerMessage: 1000,
  retentionDays: 180,
  averageToPeak: 0.1,
  webhookEventsPerMessage: 2,
  carrierAnswerMs: 300,
  targetUtilisation: 0.7,
  // The share of dispatch traffic in the bulk lane (marketing, batches) when a mix does not say:
  // each lane has its own dispatch queue (wrangler.toml), so the busier lane is what a queue meets.
  bulkShare: 0.5,
};

/** Settings a deployment can change (defaults: today's single everything). */
export const DEFAULT_SETTINGS = { dispatchShards: 1, d1Partitions: 1, queuesPerLane: 1 };

/**
 * The load one traffic mix puts on each component. `mix`: `{ tenants, rate }` spread evenly
 * (msg/s in total), optionally `hotRate` (one tenant's msg/s on top), `batchRecipients` (one
 * tenant's batch, drained at `hotRate`), `inboundRate` (inbound posts/s), `bulkShare` (the share
 * of the dispatch traffic in the bulk lane, which has its own queue; ASSUMPTIONS.bulkShare).
 * Returns rows `{ component, demand, capacity, utilisation, unit }`, utilisation = demand/capacity.
 */
export function componentLoads(mix, settings = DEFAULT_SETTINGS, assumptions = ASSUMPTIONS) {
  const c = COSTS;
  const shards = settings.dispatchShards;
  const tenants = mix.tenants ?? 0;
  const spread = mix.rate ?? 0;
  const hot = mix.hotRate ?? 0;
  const inbound = mix.inboundRate ?? 0;
  const total = spread + hot;
  const perTenant = tenants > 0 ? spread / tenants : 0;
  const hottest = Math.max(hot, perTenant);
  // A queue batch of 100 drawn from the mix holds a tenant's messages in proportion to its share.
  const perBatch = (rate) => (total > 0 ? Math.max(1, (c.queueBatch * rate) / total) : 1);
  // Requests to one shard of the hottest tenant's dispatcher: its accepts, its release ticks, and
  // a result report plus a receipt's outcomes per queue batch holding its messages.
  const shardRate = hottest / shards;
  const reportsPerSecond = hottest > 0 ? (2 * hottest) / perBatch(hottest) / shards : 0;
  const doDemand =
    shardRate * c.acceptRpcs + (hottest > 0 ? c.releaseTicksPerSecond : 0) + reportsPerSecond;
  // One query at a time: statements per second = (1,000 ms / ms per statement) × 1.
  const d1Capacity = (1000 / assumptions.d1StatementMs) * LIMITS.d1QueriesAtATime.value;
  // Statements per message on the send log: its rows, the consumer's, the receipts'.
  const statementsPerMessage = (rate) =>
    1 / c.sendLogRowsPerStatement +
    c.consumerStatementsPerBatch / c.queueBatch +
    c.receiptStatementsPerTenantBatch / perBatch(rate);
  const spreadStatements = tenants > 0 ? spread * statementsPerMessage(perTenant) : 0;
  const hotStatements = hot * statementsPerMessage(hot);
  // Inbound messages and their conversations stay on the main database (DB), with everything but
  // the send log: partitions do not divide them.
  const inboundStatements = inbound * c.inboundStatements;
  // Tenants are placed whole on a partition, except a tenant spread over several
  // (`send_log_spread`: its dispatcher shard k logs to the k mod n-th), so the hot tenant's work
  // divides over as many partitions as it has shards, at most. The busiest partition holds a
  // share of the hot tenant (plus an even share of the others when it has no partition to itself)
  // or an even share of the spread tenants, whichever is more.
  const partitions = settings.d1Partitions;
  const hotSpread = Math.min(partitions, shards);
  const evenShare = spreadStatements / partitions;
  const d1Busiest = Math.max(
    evenShare,
    hotStatements / hotSpread + (partitions > hotSpread ? 0 : evenShare),
  );
  // Storage fills at the average rate, not the peak one; messages are kept retentionDays (the
  // default retention, src/domain/retention.ts).
  const storageBytesPerDay =
    total * assumptions.averageToPeak * 86_400 * assumptions.d1BytesPerMessage;
  const busiestShare =
    total > 0 ? Math.max(1 / partitions, hot / total / hotSpread) : 1 / partitions;
  const d1StoredBytes = storageBytesPerDay * assumptions.retentionDays * busiestShare;
  const lanes = settings.queuesPerLane;
  // Transactional and bulk traffic go to their own dispatch queues, each with its own consumers.
  const bulkShare = mix.bulkShare ?? assumptions.bulkShare;
  const bulkDispatch = total * bulkShare;
  const transactionalDispatch = total - bulkDispatch;
  const webhookQueue = ((total + inbound) * assumptions.webhookEventsPerMessage) / lanes;
  const inboundQueue = (inbound * c.inboundQueueMessages) / lanes;
  const batchSeconds = (assumptions.carrierAnswerMs + 3 * assumptions.d1StatementMs) / 1000;
  const consumerCapacity =
    (LIMITS.consumerConcurrency.value * c.queueBatch * lanes) / Math.max(batchSeconds, 1e-3);
  const queueLimit = LIMITS.queueMessagesPerSecond.value;
  const rows = [
    row("dispatcher shard (hottest tenant)", doDemand, LIMITS.doRequestsSoft.value, "req/s"),
    row("D1 send-log partition (busiest)", d1Busiest, d1Capacity, "statements/s"),
    row("D1 main database (inbound, conversations)", inboundStatements, d1Capacity, "statements/s"),
    row(
      "D1 storage (busiest, retention)",
      d1StoredBytes / 1e9,
      LIMITS.d1Bytes.value / 1e9,
      `GB kept ${assumptions.retentionDays} days`,
    ),
    row(
      "dispatch queue, transactional (per queue)",
      transactionalDispatch / lanes,
      queueLimit,
      "msg/s",
    ),
    row("dispatch queue, bulk (per queue)", bulkDispatch / lanes, queueLimit, "msg/s"),
    row("webhook queue (per queue)", webhookQueue, queueLimit, "msg/s"),
    row("inbound queue (per queue)", inboundQueue, queueLimit, "msg/s"),
    row(
      "dispatch consumers (busier lane)",
      Math.max(transactionalDispatch, bulkDispatch),
      consumerCapacity,
      "msg/s",
    ),
  ];
  if (mix.batchRecipients) {
    // Staging a batch writes its rows into the shards, in parallel; each shard's store holds its
    // part until it drains (≈600 bytes a row).
    const rowsPerShard = mix.batchRecipients / shards;
    rows.push(
      row(
        "batch staging (local cost, per shard)",
        (rowsPerShard * c.stagingMsPerRowLocal) / 1000,
        30,
        "s of work (30 s CPU per request)",
      ),
      row(
        "dispatcher storage (batch, per shard)",
        (rowsPerShard * 600) / 1e9,
        LIMITS.doStorageBytes.value / 1e9,
        "GB",
      ),
    );
  }
  return rows;
}

function row(component, demand, capacity, unit) {
  return { component, demand, capacity, utilisation: capacity > 0 ? demand / capacity : 0, unit };
}

/**
 * The component with the highest utilisation (the first to saturate as the load grows); storage
 * is left out, since it fills over days (storageNeeds).
 */
export function firstToSaturate(rows) {
  return rows
    .filter((r) => !r.component.startsWith("D1 storage"))
    .reduce((worst, r) => (r.utilisation > worst.utilisation ? r : worst));
}

/**
 * The smallest settings that keep every component at or under the target utilisation, searched
 * one knob at a time (each knob moves only its own components; the partitions after the shards,
 * since a hot tenant's send log spreads over at most as many partitions as it has shards). A
 * component no knob brings under the target (the main database, which partitions do not divide)
 * is reported in `unreachable`.
 */
export function requiredSettings(mix, assumptions = ASSUMPTIONS, max = 1024) {
  const target = assumptions.targetUtilisation;
  const settings = { ...DEFAULT_SETTINGS };
  const unreachable = [];
  const knobs = [
    ["dispatchShards", (r) => r.component.startsWith("dispatcher shard")],
    // Storage is left out: it grows with days kept, not with the rate (see storageNeeds).
    ["d1Partitions", (r) => r.component.startsWith("D1 send-log")],
    ["queuesPerLane", (r) => r.component.includes("queue") || r.component.includes("consumers")],
  ];
  for (const [knob, owns] of knobs) {
    const mine = () => componentLoads(mix, settings, assumptions).filter(owns);
    const worst = () => Math.max(0, ...mine().map((r) => r.utilisation));
    settings[knob] = max;
    // What the knob can do at most; when that is still over the target, the smallest setting that
    // does as well (more would buy nothing).
    const floor = Math.max(target, worst() + 1e-9);
    settings[knob] = 1;
    const over = () => (worst() > floor ? mine() : []);
    // Doubling, then a binary search back down: every component's load falls as its knob grows.
    let high = 1;
    while (over().length > 0 && high < max) {
      high = Math.min(max, high * 2);
      settings[knob] = high;
    }
    let low = Math.max(1, high / 2);
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      settings[knob] = mid;
      if (over().length > 0) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    settings[knob] = high;
    for (const r of mine()) {
      if (r.utilisation > target) {
        unreachable.push(r.component);
      }
    }
  }
  const owned = (r) => knobs.some(([, owns]) => owns(r));
  for (const r of componentLoads(mix, settings, assumptions)) {
    if (!owned(r) && !r.component.startsWith("D1 storage") && r.utilisation > target) {
      unreachable.push(r.component);
    }
  }
  return { settings, unreachable };
}

/**
 * What the send log's size asks for: GB a day at the average rate, the days one partition holds
 * the busiest tenant before 10 GB, and the partitions the whole platform needs for the retention.
 */
export function storageNeeds(mix, assumptions = ASSUMPTIONS, settings = DEFAULT_SETTINGS) {
  const total = (mix.rate ?? 0) + (mix.hotRate ?? 0);
  const perDay = (rate) =>
    (rate * assumptions.averageToPeak * 86_400 * assumptions.d1BytesPerMessage) / 1e9;
  const busiestRate = Math.max(mix.hotRate ?? 0, mix.tenants ? (mix.rate ?? 0) / mix.tenants : 0);
  const cap = LIMITS.d1Bytes.value / 1e9;
  return {
    gbPerDay: perDay(total),
    // A spread tenant's messages divide over as many partitions as it has shards, at most.
    busiestTenantDays:
      busiestRate > 0
        ? (cap * Math.min(settings.d1Partitions, settings.dispatchShards)) / perDay(busiestRate)
        : Number.POSITIVE_INFINITY,
    partitionsForRetention: Math.ceil((perDay(total) * assumptions.retentionDays) / cap),
  };
}

/** The scenarios the issue asks for. */
export const SCENARIOS = [
  { name: "1k msg/s across 1,000 tenants", mix: { tenants: 1000, rate: 1000 } },
  { name: "10k msg/s across 1,000 tenants", mix: { tenants: 1000, rate: 10_000 } },
  { name: "50k msg/s across 1,000 tenants", mix: { tenants: 1000, rate: 50_000 } },
  { name: "one tenant at 5k msg/s", mix: { tenants: 0, rate: 0, hotRate: 5000 } },
  {
    name: "one tenant's 1M-recipient batch (drained at 5k msg/s)",
    mix: { tenants: 0, rate: 0, hotRate: 5000, batchRecipients: 1_000_000, bulkShare: 1 },
  },
  { name: "inbound storm, 2k msg/s", mix: { tenants: 0, rate: 0, inboundRate: 2000 } },
];

/** Every scenario at today's settings and at the settings it needs. */
export function modelResults(assumptions = ASSUMPTIONS) {
  return SCENARIOS.map(({ name, mix }) => {
    const today = componentLoads(mix, DEFAULT_SETTINGS, assumptions);
    const needed = requiredSettings(mix, assumptions);
    const after = componentLoads(mix, needed.settings, assumptions);
    const storage = storageNeeds(mix, assumptions, needed.settings);
    return { name, mix, today, first: firstToSaturate(today), needed, after, storage };
  });
}

const pct = (u) => `${(u * 100).toFixed(u < 0.1 ? 1 : 0)}%`;
const settingsText = (s) =>
  `${s.dispatchShards} dispatch shard${s.dispatchShards === 1 ? "" : "s"} per tenant, ${s.d1Partitions} D1 send-log partition${s.d1Partitions === 1 ? "" : "s"}, ${s.queuesPerLane} queue${s.queuesPerLane === 1 ? "" : "s"} per lane`;

/** The results file's section. `table(header, rows)` renders Markdown (lib.mjs's markdownTable). */
export function modelMarkdown(results, table, assumptions = ASSUMPTIONS) {
  const summary = table(
    [
      "scenario",
      "first to saturate today",
      "its utilisation",
      "setting it needs (throughput)",
      "worst after",
      "send log a day / one partition holds the busiest tenant / partitions for the retention",
    ],
    results.map((r) => {
      const worst = firstToSaturate(r.after);
      const unreachable =
        r.needed.unreachable.length > 0
          ? `; still over ${pct(assumptions.targetUtilisation)}: ${r.needed.unreachable.join(", ")}`
          : "";
      return [
        r.name,
        r.first.component,
        pct(r.first.utilisation),
        settingsText(r.needed.settings) + unreachable,
        `${worst.component} ${pct(worst.utilisation)}`,
        `${r.storage.gbPerDay.toFixed(1)} GB / ${Number.isFinite(r.storage.busiestTenantDays) ? `${r.storage.busiestTenantDays.toFixed(1)} days` : "—"} / ${r.storage.partitionsForRetention}`,
      ];
    }),
  );
  const details = results.map(
    (r) =>
      `### ${r.name}\n\n${table(
        ["component", "demand", "capacity", "unit", "today", "with the setting"],
        r.today.map((t, i) => [
          t.component,
          t.demand.toFixed(t.demand < 10 ? 2 : 0),
          t.capacity.toFixed(0),
          t.unit,
          pct(t.utilisation),
          pct(r.after[i].utilisation),
        ]),
      )}`,
  );
  const limits = Object.entries(LIMITS).map(
    ([name, l]) => `- ${name}: ${l.value} (${l.note}); ${l.source}`,
  );
  const assumed = Object.entries(ASSUMPTIONS).map(
    ([name, v]) => `${name} ${assumptions[name] ?? v}`,
  );
  return `## Load model: which limit a traffic mix meets first, and the settings it needs

- Pure arithmetic (test/bench/model.mjs, its arithmetic tested by test/bench/model.test.mjs): demand per component from the operation counts pinned by test/hot-path.test.ts and the local costs in this file's latest sections (not re-measured by this section), against Cloudflare's published limits. Target utilisation ${pct(assumptions.targetUtilisation)}; "setting it needs" is the smallest setting that keeps every component at or under it.
- Assumptions (not measured; change them in model.mjs): ${assumed.join(", ")}. D1's ceiling is the D1 limits page's "one query at a time" at ${assumptions.d1StatementMs} ms a statement: a faster statement moves every D1 row down in proportion.
- A tenant is placed on one D1 partition, except one too busy for one database, which is spread over several (\`send_log_spread\`: its dispatcher shard k logs to the k mod n-th), so it divides over at most as many partitions as it has shards. Inbound messages and their conversations stay on the main database (DB), which partitions do not divide.

${summary}

${details.join("\n\n")}

Limits used:

${limits.join("\n")}`;
}
