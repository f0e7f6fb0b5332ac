/**
 * Statistics (run by `npm run bench`, or alone with `--only stats`), in two parts:
 *
 * (a) What keeping the rollups costs the send path: the ratios' measurement (ratios.mjs, shared:
 *     POST /noop, then POST /v1/messages for 1 and for `--tenants` tenants, each backlog drained)
 *     with the rollups on and with them off, back to back, each on its own fresh server, for
 *     `--stats-rounds` rounds (the order alternating, on first in the first round). "Off" is the
 *     same code on a state whose rollup triggers on `messages` (migration 0027) are dropped after
 *     the migrations ran: the triggers are the only thing the rollups add to the send path (they
 *     fire inside the dispatcher's and the status writer's own statements), so dropping them
 *     switches the rollups off with no test-only branch in the Worker. Target: the mean send/no-op
 *     throughput ratio with rollups ≥ 0.9 × the mean without (both the 1-tenant and N-tenant
 *     runs). The drain times are shown too: the D1 writes the triggers ride on happen there.
 *
 * (b) `GET /v1/stats` over 30 local days (Asia/Shanghai) in 10 groupings, on rollups worth a
 *     million messages (`--stats-messages`), written straight into the rollup tables of a fresh
 *     state: the endpoint reads only those (never the send log), so their size is what matters.
 *     Each grouping is asked `--stats-repeats` times after one warm-up call. Targets: every answer
 *     200, its messages adding up to what was written, and each grouping's median ≤ 100 ms.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startLocalServer } from "../../scripts/local-server.mjs";
import {
  BENCH_DIR,
  benchTenants,
  format,
  loadLine,
  machine,
  markdownTable,
  must,
  passFail,
  percentile,
} from "./lib.mjs";
import { measureRatios, methodLines, runsTable, startRatiosServer } from "./ratios.mjs";

export const TARGET_THROUGHPUT_SHARE = 0.9;
export const TARGET_STATS_MS = 100;

const ROLLUP_TRIGGERS = [
  "stat_rollups_insert",
  "stat_rollups_move",
  "stat_rollups_rekey",
  "stat_latency_sent",
  "stat_latency_delivered",
  "stat_errors_final",
];
const OFF_SQL = ROLLUP_TRIGGERS.map((name) => `DROP TRIGGER IF EXISTS ${name};`).join("\n");

const GROUPINGS = [
  "day",
  "hour",
  "channel",
  "provider",
  "template",
  "country",
  "status",
  "day,provider",
  "day,country,status",
  "provider,country,template",
];

const BUCKETS = 30 * 96;
/** Distinct provider × country × template keys per bucket (3 × 4 × 5). */
const KEYS = 60;
/** stat_latencies' columns, one per latency bucket (domain/stats LATENCY_BOUNDS_MS, and the overflow). */
const LATENCY_COLUMNS = Array.from({ length: 17 }, (_, le) => `b${le}`);

/** Rollups for `messages` messages over the 30 days before `endMs`: one row per bucket and key. */
function seedSql(tenantId, messages, startMs) {
  // messages per row: base + (0, 1 or 2), averaging base + 1.
  const base = Math.max(0, Math.round(messages / (BUCKETS * KEYS)) - 1);
  const rows = `WITH RECURSIVE b(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM b WHERE i < ${BUCKETS - 1}),
  k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < ${KEYS - 1})`;
  const key = `'${tenantId}', 0, ${startMs} + b.i * 900000`;
  const provider = "CASE k.j % 3 WHEN 0 THEN 'sandbox' WHEN 1 THEN 'twilio' ELSE 'aliyun' END";
  const country =
    "CASE (k.j / 3) % 4 WHEN 0 THEN 'CN' WHEN 1 THEN 'US' WHEN 2 THEN 'GB' ELSE 'IN' END";
  const template = "'tpl_bench_' || ((k.j / 12) % 5)";
  const status =
    "CASE (b.i + k.j) % 6 WHEN 3 THEN 'undelivered' WHEN 4 THEN 'failed' WHEN 5 THEN 'sent' ELSE 'delivered' END";
  const n = `(${base} + (b.i * 7 + k.j) % 3)`;
  // One column per status (a rollup row is keyed without it): each row's messages in one.
  const seeded = ["sent", "delivered", "undelivered", "failed"];
  const statusColumns = seeded.flatMap((s) => [s, `${s}_segments`, `${s}_cost_micros`]);
  const statusValues = seeded.map(
    (s) =>
      `(${status} = '${s}') * ${n}, (${status} = '${s}') * ${n} * 2, (${status} = '${s}') * ${n} * 6500`,
  );
  return `${rows}
INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, ${statusColumns.join(", ")})
SELECT ${key}, 'sms', ${provider}, ${template}, ${country}, 'USD', 'live', ${statusValues.join(", ")}
FROM b CROSS JOIN k;
${rows}
INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, ${LATENCY_COLUMNS.join(", ")})
SELECT ${key}, m.metric, 'sms', ${provider}, ${country}, 'live',
  ${LATENCY_COLUMNS.map((_, le) => `SUM(((b.i + k.j) % 4 + m.shift = ${le}) * ${n})`).join(", ")}
FROM b CROSS JOIN k CROSS JOIN (SELECT 'sent' AS metric, 0 AS shift UNION ALL SELECT 'delivered', 3) AS m
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
WITH RECURSIVE b(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM b WHERE i < ${BUCKETS - 1})
INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
SELECT '${tenantId}', ${startMs} + b.i * 900000, 'inbound', 'sms', 'sandbox', 1 + b.i % 5 FROM b;
${[
  [1, 3_600_000],
  [2, 86_400_000],
]
  .map(
    ([
      grain,
      unit,
    ]) => `INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, ${statusColumns.join(", ")})
SELECT tenant_id, ${grain}, (bucket_start / ${unit}) * ${unit}, channel, provider, template_id, country, currency, mode, ${statusColumns.map((c) => `SUM(${c})`).join(", ")}
FROM stat_rollups WHERE tenant_id = '${tenantId}' AND grain = 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, ${LATENCY_COLUMNS.join(", ")})
SELECT tenant_id, ${grain}, (bucket_start / ${unit}) * ${unit}, metric, channel, provider, country, mode, ${LATENCY_COLUMNS.map((c) => `SUM(${c})`).join(", ")}
FROM stat_latencies WHERE tenant_id = '${tenantId}' AND grain = 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;`,
  )
  .join("\n")}
SELECT SUM(${seeded.join(" + ")}) FROM stat_rollups WHERE tenant_id = '${tenantId}' AND grain = 0;`;
}

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

async function throughputPart(settings, failures) {
  const rounds = settings.statsRounds;
  const measured = { on: [], off: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ["on", "off"] : ["off", "on"];
    for (const rollups of order) {
      console.log(`stats: round ${round + 1}/${rounds}, rollups ${rollups}`);
      const ratioServer = await startRatiosServer(settings, {
        root: settings.source.dir,
        persistTo: join(BENCH_DIR, "tmp", `stats-${rollups}`),
        extraSql: rollups === "off" ? OFF_SQL : "",
      });
      try {
        const result = await measureRatios(ratioServer, settings);
        failures.push(...result.problems.map((p) => `rollups ${rollups}: ${p}`));
        measured[rollups].push({ ...result, keyRateLimit: ratioServer.keyRateLimit });
      } finally {
        await ratioServer.server.stop();
      }
    }
  }
  const shareRows = [0, 1].map((i) => {
    const name = i === 0 ? "1 tenant" : `${settings.tenants} tenants`;
    const on = mean(measured.on.map((m) => m.ratios[i].throughput));
    const off = mean(measured.off.map((m) => m.ratios[i].throughput));
    const share = on / off;
    if (!(share >= TARGET_THROUGHPUT_SHARE)) {
      failures.push(
        `stats: ${name}: throughput ratio with rollups ${format(on, 3)} is ${format(share, 3)} × without (${format(off, 3)}); target ≥ ${TARGET_THROUGHPUT_SHARE}`,
      );
    }
    const settleOf = (which) =>
      format(mean(measured[which].map((m) => m.settleTimes[i].seconds ?? Number.NaN)), 1);
    return [
      name,
      format(on, 3),
      format(off, 3),
      `${format(share, 3)} ${passFail(share >= TARGET_THROUGHPUT_SHARE)} (≥ ${TARGET_THROUGHPUT_SHARE})`,
      settleOf("on"),
      settleOf("off"),
    ];
  });
  const runs = [...measured.on, ...measured.off].flatMap((m, index) =>
    m.runs.map((r) => ({
      ...r,
      name: `${index < measured.on.length ? "on" : "off"} #${(index % rounds) + 1}: ${r.name}`,
    })),
  );
  return `${methodLines(settings, measured.on[0]?.keyRateLimit)}
- Rollups off: the same sources on a state whose triggers ${ROLLUP_TRIGGERS.map((t) => `\`${t}\``).join(", ")} were dropped after the migrations; ${rounds} round(s), each on then off or off then on, every run on its own fresh server

${markdownTable(
  [
    "send run",
    "throughput / noop, rollups on (mean)",
    "off (mean)",
    "on ÷ off",
    "drain s, on",
    "drain s, off",
  ],
  shareRows,
)}

${runsTable(runs)}`;
}

async function queryPart(settings, failures) {
  const persistTo = join(BENCH_DIR, "tmp", "stats-query");
  rmSync(persistTo, { recursive: true, force: true });
  const { tenants, sql } = benchTenants(1, {
    prefix: "stats",
    sendRate: settings.sendRate,
    root: settings.source.dir,
  });
  const { tenantId, adminKey } = tenants[0];
  // 30 whole days in Asia/Shanghai (UTC+8, no DST), ending with yesterday there.
  const dayMs = 86_400_000;
  const shanghaiToday = Math.floor((Date.now() + 8 * 3_600_000) / dayMs) * dayMs - 8 * 3_600_000;
  const startMs = shanghaiToday - 30 * dayMs;
  const from = new Date(startMs + 8 * 3_600_000).toISOString().slice(0, 10);
  const to = new Date(shanghaiToday - dayMs + 8 * 3_600_000).toISOString().slice(0, 10);
  console.log(`stats: writing rollups for ${settings.statsMessages} messages (${from} … ${to})…`);
  const seededAt = Date.now();
  const server = await startLocalServer({
    cwd: settings.source.dir,
    persistTo,
    vars: settings.vars,
    logLevel: settings.wranglerLogLevel,
    extraSql: `${sql}\n${seedSql(tenantId, settings.statsMessages, startMs)}`,
  });
  const seedSeconds = (Date.now() - seededAt) / 1000;
  const rows = [];
  let written = null;
  try {
    for (const groupBy of GROUPINGS) {
      const path = `/v1/stats?from=${from}&to=${to}&tz=Asia/Shanghai&group_by=${groupBy}`;
      const first = await must(server, "GET", path, { key: adminKey, timeoutMs: 60_000 });
      const total = first.data.reduce((n, r) => n + r.messages, 0);
      written ??= total;
      if (total !== written) {
        failures.push(`stats: group_by=${groupBy} adds up to ${total} messages, day to ${written}`);
      }
      const times = [];
      for (let i = 0; i < settings.statsRepeats; i++) {
        const started = performance.now();
        await must(server, "GET", path, { key: adminKey, timeoutMs: 60_000 });
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const median = percentile(times, 50);
      if (!(median <= TARGET_STATS_MS)) {
        failures.push(
          `stats: group_by=${groupBy} median ${format(median)} ms > ${TARGET_STATS_MS} ms`,
        );
      }
      console.log(
        `stats: group_by=${groupBy}: ${first.data.length} rows, median ${format(median)} ms`,
      );
      rows.push([
        `\`${groupBy}\``,
        first.data.length,
        format(median),
        format(times[times.length - 1]),
        `${passFail(median <= TARGET_STATS_MS)} (≤ ${TARGET_STATS_MS})`,
      ]);
    }
  } finally {
    await server.stop();
  }
  if (
    written !== null &&
    Math.abs(written - settings.statsMessages) > settings.statsMessages * 0.1
  ) {
    failures.push(
      `stats: the rollups hold ${written} messages, not about ${settings.statsMessages}`,
    );
  }
  return `- Rollups: ${written} messages' worth over ${from} … ${to} (Asia/Shanghai), ${BUCKETS} buckets × ${KEYS} provider × country × template keys (${BUCKETS * KEYS} rollup rows at 15 minutes, the latency histograms per provider × country, and the same summed per UTC hour and day), written in ${format(seedSeconds)} s with the server's start
- Each grouping: one warm-up call, then ${settings.statsRepeats} timed calls one after another (the client's wall time, JSON included)

${markdownTable(["group_by", "rows", "median ms", "max ms", "target"], rows)}`;
}

export async function runStats(settings) {
  const before = machine().load;
  const startedIso = new Date().toISOString();
  const failures = [];
  // `--stats-rounds 0` measures only the reads.
  const throughput =
    settings.statsRounds > 0
      ? await throughputPart(settings, failures)
      : "(not run: --stats-rounds 0)";
  const query = await queryPart(settings, failures);
  const markdown = `## Statistics: what the rollups cost, and reading them

- Run: ${startedIso}, ${loadLine(before)} before the run

### Send throughput with the rollups on and off

${throughput}

### GET /v1/stats over 30 days, 10 groupings

${query}`;
  return { markdown, failures };
}
