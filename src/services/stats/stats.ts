/**
 * `GET /v1/stats`: a tenant's sends, outcomes, segments, cost, inbound messages and delivery
 * latency, summed from the rollups (migration 0027's triggers keep them; this never scans the
 * send log), read on each of the tenant's send-log partitions and added up. Each query walks the
 * rollups' primary key (tenant, grain, bucket) once per span of a period: whole UTC days and
 * hours from the coarse grains, the edges from the 15-minute one; a local day that straddles UTC
 * midnights as whole UTC days with the edges added or taken away, whichever reads fewer rows
 * (domain/stats signedSpansOf).
 *
 * The status counts are of the messages accepted in the range that are in that status now (the
 * rollups equal a direct count of the send log): `sent` is sent and waiting for its receipt.
 */
import type { Caller } from "../../domain/caller";
import { fromMicros } from "../../domain/pricing";
import {
  deliveryRate,
  GRAIN_MS,
  type GrainSpan,
  grainRangesOf,
  LATENCY_BOUNDS_MS,
  quantileOf,
  type SignedSpan,
  signedSpansOf,
} from "../../domain/stats";
import { MESSAGE_STATUSES } from "../../domain/vocabulary";
import { sendLogsOf, sumByGroup } from "../messaging/send-log-reads";
import { type Group, type Period, rangeOf, type StatsParams } from "./stats-range";

export type { StatsParams } from "./stats-range";

export interface StatsRow {
  day?: string;
  hour?: string;
  channel?: string | null;
  provider?: string | null;
  template?: string | null;
  country?: string | null;
  status?: string | null;
  messages: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  expired: number;
  canceled: number;
  delivery_rate: number | null;
  segments: number;
  cost: number;
  currency: string;
  inbound: number | null;
  opt_outs: number | null;
  verification_sends: number | null;
  verification_checks: number | null;
  verification_approvals: number | null;
  p50_delivery_ms: number | null;
  p95_delivery_ms: number | null;
}

/** The rollup columns behind each grouping other than time. */
const COLUMN: { readonly [g in Exclude<Group, "day" | "hour">]: string } = {
  channel: "channel",
  provider: "provider",
  template: "template_id",
  country: "country",
  status: "status",
};

/** The statuses the answer shows a count of (the others count in `messages` only). */
const OUTCOMES = ["sent", "delivered", "undelivered", "failed", "expired", "canceled"] as const;

// The periods, as `[grain, start, end, label, sign]` spans (a grain-less table gets one grain-0
// span each, added): a span's rows are added to its period's sums or, sign −1, taken away
// (domain/stats signedSpansOf). Materialized: otherwise SQLite reads `p.label` out of the JSON
// again for every rollup row joined.
const PERIODS = `WITH p(g, s, e, label, sign) AS MATERIALIZED (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
  json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]') FROM json_each(?1))`;

interface Filter {
  sql: string;
  binds: unknown[];
}

/** The WHERE clause shared by the rollup tables, binds from ?3 on (?1 periods, ?2 tenant). */
function filterOf(
  caller: Caller,
  params: StatsParams,
  columns: { mode: boolean; country: boolean; grain?: boolean },
): Filter {
  const parts = [
    "r.tenant_id = ?2",
    ...(columns.grain ? ["r.grain = p.g"] : []),
    "r.bucket_start >= p.s",
    "r.bucket_start < p.e",
  ];
  const binds: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    binds.push(value);
    parts.push(`${sql} ?${binds.length + 2}`);
  };
  if (columns.mode && !caller.seesBothModes) {
    add("r.mode =", caller.mode);
  }
  if (params.channel !== undefined) {
    add("r.channel =", params.channel);
  }
  if (params.provider !== undefined) {
    add("r.provider =", params.provider);
  }
  if (params.country !== undefined && columns.country) {
    add("r.country =", params.country.toUpperCase());
  }
  return { sql: parts.join(" AND "), binds };
}

/** stat_latencies' bucket columns, one per LATENCY_BOUNDS_MS bucket and the overflow. */
const LATENCY_COLUMNS = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => `b${i}`);

/** What a group's rollup sums are made of: added up over the send-log partitions. */
const ROLLUP_SUMS = [
  "messages",
  ...OUTCOMES,
  "segments",
  "cost_micros",
] as const satisfies readonly (keyof RollupSums)[];

/** The key of a group: its period's label and its columns' values, in the groups' order. */
const keyOf = (values: unknown[]) => JSON.stringify(values);

interface RollupSums {
  period: string | null;
  currency: string;
  messages: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  expired: number;
  canceled: number;
  segments: number;
  cost_micros: number;
  [column: string]: unknown;
}

export async function statsOf(
  env: Env,
  caller: Caller,
  params: StatsParams,
  now: number = Date.now(),
): Promise<StatsRow[]> {
  const range = rangeOf(params, now);
  const timeGroup = range.groups.find((g) => g === "day" || g === "hour");
  const dims = range.groups.filter(
    (g): g is Exclude<Group, "day" | "hour"> => g !== "day" && g !== "hour",
  );
  const periods = JSON.stringify(range.periods.map(([s, e, label]) => [0, s, e, label, 1]));
  const labelled = range.periods.flatMap(([s, e, label]: Period) =>
    signedSpansOf(s, e).map((span): LabelledSpan => [...span, label]),
  );
  const spans = JSON.stringify(
    labelled.map(([g, from, to, sign, label]) => [g, from, to, label, sign]),
  );
  const groupBy = ["p.label", ...dims.map((d) => `r.${COLUMN[d]}`)];

  // The statuses are columns of one rollup row: summed per group first, then (grouped by status)
  // each group's sums are turned into one row per status, so the unpivot works on the few groups
  // rather than on every rollup row read (by json_each: D1 allows few terms in a compound SELECT).
  const rollups = filterOf(caller, params, { mode: true, country: true, grain: true });
  const rollupDims = dims.filter((d) => d !== "status");
  // The currency a row was priced in; rows from before that column are in the tenant's.
  const currency = `COALESCE(NULLIF(r.currency, ''), ?${rollups.binds.length + 3})`;
  const sums = MESSAGE_STATUSES.flatMap((s) => [
    `SUM(r.${s} * p.sign) AS ${s}`,
    `SUM(r.${s}_segments * p.sign) AS ${s}_segments`,
    `SUM(r.${s}_cost_micros * p.sign) AS ${s}_cost_micros`,
  ]);
  const perGroup = `${PERIODS}
SELECT p.label AS period, ${rollupDims.map((d) => `r.${COLUMN[d]} AS ${d}, `).join("")}${currency} AS currency,
  ${sums.join(", ")}
FROM p CROSS JOIN stat_rollups r
WHERE ${rollups.sql}
GROUP BY ${["p.label", ...rollupDims.map((d) => `r.${COLUMN[d]}`), currency].join(", ")}`;
  const total = (suffix: string) => MESSAGE_STATUSES.map((s) => `q.${s}${suffix}`).join(" + ");
  const ofStatus = (suffix: string) =>
    `CASE st.status ${MESSAGE_STATUSES.map((s) => `WHEN '${s}' THEN q.${s}${suffix}`).join(" ")} END`;
  const byStatus = dims.includes("status");
  const outcome = (s: string) =>
    byStatus ? `CASE WHEN st.status = '${s}' THEN q.${s} ELSE 0 END AS ${s}` : `q.${s} AS ${s}`;
  const rollupSql = `SELECT * FROM (SELECT q.period AS period, ${rollupDims.map((d) => `q.${d} AS ${d}, `).join("")}${byStatus ? "st.status AS status, " : ""}q.currency AS currency,
  ${byStatus ? ofStatus("") : total("")} AS messages,
  ${OUTCOMES.map(outcome).join(", ")},
  ${byStatus ? ofStatus("_segments") : total("_segments")} AS segments,
  ${byStatus ? ofStatus("_cost_micros") : total("_cost_micros")} AS cost_micros
FROM (${perGroup}) AS q${byStatus ? ` CROSS JOIN (SELECT value AS status FROM json_each('${JSON.stringify(MESSAGE_STATUSES)}')) AS st` : ""})
WHERE messages <> 0 OR cost_micros <> 0`;

  // Latency has no template (nor status): grouped by template it is unknown (null). The send
  // histograms are kept (accepted → sent) but not read here: the answer shows delivery only.
  // A histogram is one row, a column per bucket: summed per group, column by column.
  const latencyFits = !dims.includes("template");
  const latencyDims = dims.filter((d) => d !== "status");
  const latency = filterOf(caller, params, { mode: true, country: true, grain: true });
  const latencySql = `${PERIODS}
SELECT p.label AS period, ${latencyDims.map((d) => `r.${COLUMN[d]} AS ${d}, `).join("")}
  ${LATENCY_COLUMNS.map((b) => `SUM(r.${b} * p.sign) AS ${b}`).join(", ")}
FROM p CROSS JOIN stat_latencies r
WHERE r.metric = 'delivered' AND ${latency.sql}
GROUP BY ${["p.label", ...latencyDims.map((d) => `r.${COLUMN[d]}`)].join(", ")}`;

  // The counters (inbound messages, opt-outs, verifications) have a channel and a provider,
  // nothing else the rollups group by.
  const inboundFits =
    dims.every((d) => d === "channel" || d === "provider") && params.country === undefined;
  const inbound = filterOf(caller, params, { mode: false, country: false });
  const inboundSql = `${PERIODS}
SELECT p.label AS period, ${dims.map((d) => `r.${COLUMN[d]} AS ${d}, `).join("")} r.metric AS metric,
  SUM(r.n) AS n
FROM p CROSS JOIN stat_counters r
WHERE ${inbound.sql}
GROUP BY ${[...groupBy, "r.metric"].join(", ")}`;

  // Each of the tenant's send-log partitions holds the rollups of its own messages: the same
  // reads on each, the sums added up by group (histograms bucket by bucket).
  const logs = sendLogsOf(env, caller.tenant);
  const tenantId = caller.tenant.id;
  const grouped = async (d1: D1Database) =>
    (
      await d1
        .prepare(rollupSql)
        .bind(spans, tenantId, ...rollups.binds, caller.tenant.currency)
        .all<RollupSums>()
    ).results;
  const ranges = grainRangesOf(labelled);
  const streams =
    timeGroup !== undefined &&
    dims.every((d) => d === "channel" || d === "provider") &&
    ranges.length <= MAX_STREAMED_RANGES;
  const rollupsOn = (d1: D1Database) =>
    streams
      ? streamedSums(d1, caller, params, labelled, ranges, dims).then((rows) => rows ?? grouped(d1))
      : grouped(d1);
  const [rollupAnswers, latencyAnswers, inboundAnswers] = await Promise.all([
    Promise.all(logs.map(rollupsOn)),
    latencyFits
      ? Promise.all(
          logs.map(
            async (d1) =>
              (
                await d1
                  .prepare(latencySql)
                  .bind(spans, tenantId, ...latency.binds)
                  .all<{ period: string | null } & Record<string, number | string | null>>()
              ).results,
          ),
        )
      : null,
    // The counters are kept by triggers on tables outside the send log (inbound messages,
    // opt-outs, verifications): on DB alone, wherever the tenant's send log is.
    inboundFits
      ? env.DB.prepare(inboundSql)
          .bind(periods, tenantId, ...inbound.binds)
          .all<{ period: string | null; metric: string; n: number }>()
      : null,
  ]);
  const rollupResults = sumByGroup(
    rollupAnswers,
    (r) => keyOf([r.period, ...dims.map((d) => r[d]), r.currency]),
    ROLLUP_SUMS,
  );
  const latencyRows = latencyAnswers
    ? sumByGroup(
        latencyAnswers,
        (r) => keyOf([r.period, ...latencyDims.map((d) => r[d])]),
        LATENCY_COLUMNS,
      )
    : null;
  const inboundRows = inboundAnswers?.results ?? null;

  const histograms = new Map<string, number[]>();
  for (const row of latencyRows ?? []) {
    const key = keyOf([row.period, ...latencyDims.map((d) => row[d])]);
    histograms.set(
      key,
      LATENCY_COLUMNS.map((b) => Number(row[b] ?? 0)),
    );
  }
  const countersBy = new Map<string, Record<string, number>>();
  for (const row of inboundRows ?? []) {
    const key = keyOf([row.period, ...dims.map((d) => (row as never)[d])]);
    const counters = countersBy.get(key) ?? {};
    counters[row.metric] = (counters[row.metric] ?? 0) + row.n;
    countersBy.set(key, counters);
  }
  /** A group's counters: on its first row only (a group split by currency has more). */
  const countersOf = (key: string, first: boolean) => {
    const c = countersBy.get(key) ?? {};
    const value = (metric: string) => (inboundFits ? (first ? (c[metric] ?? 0) : 0) : null);
    return {
      inbound: value("inbound"),
      opt_outs: value("opt_out"),
      verification_sends: value("verification_sent"),
      verification_checks: value("verification_check"),
      verification_approvals: value("verification_approved"),
    };
  };

  const rows: StatsRow[] = [];
  const seen = new Set<string>();
  const groupFields = (period: string | null, values: Record<string, unknown>) => {
    const fields: Partial<StatsRow> = {};
    if (timeGroup) {
      fields[timeGroup] = period ?? "";
    }
    for (const d of dims) {
      const v = values[d];
      fields[d] = typeof v === "string" && v !== "" ? v : null;
    }
    return fields;
  };
  for (const r of rollupResults) {
    const key = keyOf([r.period, ...dims.map((d) => r[d])]);
    const latencyKey = [r.period, ...latencyDims.map((d) => r[d])];
    const showsLatency = !dims.includes("status") || r.status === "delivered";
    const histogram = showsLatency ? (histograms.get(keyOf(latencyKey)) ?? []) : [];
    const first = !seen.has(key);
    seen.add(key);
    rows.push({
      ...groupFields(r.period, r),
      messages: r.messages,
      sent: r.sent,
      delivered: r.delivered,
      undelivered: r.undelivered,
      failed: r.failed,
      expired: r.expired,
      canceled: r.canceled,
      delivery_rate: deliveryRate(r),
      segments: r.segments,
      cost: fromMicros(r.cost_micros),
      currency: r.currency,
      ...countersOf(key, first),
      p50_delivery_ms: quantileOf(histogram, 0.5),
      p95_delivery_ms: quantileOf(histogram, 0.95),
    });
  }
  // Groups with counters and nothing sent.
  for (const row of inboundRows ?? []) {
    const key = keyOf([row.period, ...dims.map((d) => (row as never)[d])]);
    if (!seen.has(key)) {
      seen.add(key);
      rows.push({
        ...groupFields(row.period, row as Record<string, unknown>),
        messages: 0,
        sent: 0,
        delivered: 0,
        undelivered: 0,
        failed: 0,
        expired: 0,
        canceled: 0,
        delivery_rate: null,
        segments: 0,
        cost: 0,
        currency: caller.tenant.currency,
        ...countersOf(key, true),
        p50_delivery_ms: null,
        p95_delivery_ms: null,
      });
    }
  }
  const order = new Map(range.periods.map((p, i) => [p[2], i]));
  const sortKey = (row: StatsRow) => [
    timeGroup ? (order.get(row[timeGroup] ?? null) ?? -1) : 0,
    ...dims.map((d) => row[d] ?? ""),
    row.currency,
  ];
  return rows.sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i] ?? "";
      const y = kb[i] ?? "";
      if (x !== y) {
        return x < y ? -1 : 1;
      }
    }
    return 0;
  });
}

/**
 * More stretches than this and the one grouped query (over all spans at once) is cheaper. A
 * month of local days read with signs is 32 (Shanghai) to 63 (Kolkata) stretches, each a few
 * hours: streamed, they read in half the time of the grouped query or less.
 */
const MAX_STREAMED_RANGES = 64;

/** A signed span and the period (its label) it counts in. */
type LabelledSpan = [...SignedSpan, label: string | null];

/**
 * What the streamed read sums per bucket, as `[name, expression]`: the outcomes, and the totals
 * over every status added up within each row, so SQLite keeps 9 sums rather than 27.
 */
const STREAMED_SUMS: readonly [string, string][] = [
  ...OUTCOMES.map((s): [string, string] => [s, `r.${s}`]),
  ["messages", MESSAGE_STATUSES.map((s) => `r.${s}`).join(" + ")],
  ["segments", MESSAGE_STATUSES.map((s) => `r.${s}_segments`).join(" + ")],
  ["cost_micros", MESSAGE_STATUSES.map((s) => `r.${s}_cost_micros`).join(" + ")],
];

/**
 * The rollup sums of a grouping by time (and by nothing, channel or provider besides), read as
 * each grain's stretch of the primary key grouped in its own order (bucket, then channel and
 * provider as far as the grouping needs them):
 * SQLite sums such a range as it walks it, where grouping by period needs a sort of every row
 * read (a 30-day read by hour walks 720 hours × every key). The buckets are summed into their
 * periods here, each with its span's sign (a span added to one local day and taken from the next
 * is read once, for both). Undefined when a group mixes currencies: the grouped query then answers.
 */
async function streamedSums(
  d1: D1Database,
  caller: Caller,
  params: StatsParams,
  spans: LabelledSpan[],
  ranges: GrainSpan[],
  dims: Exclude<Group, "day" | "hour">[],
): Promise<RollupSums[] | undefined> {
  const parts = ["r.tenant_id = ?1", "r.grain = ?2", "r.bucket_start >= ?3", "r.bucket_start < ?4"];
  const binds: unknown[] = [caller.tenant.currency];
  const add = (sql: string, value: unknown) => {
    binds.push(value);
    parts.push(`${sql} ?${binds.length + 4}`);
  };
  if (!caller.seesBothModes) {
    add("r.mode =", caller.mode);
  }
  if (params.channel !== undefined) {
    add("r.channel =", params.channel);
  }
  if (params.provider !== undefined) {
    add("r.provider =", params.provider);
  }
  if (params.country !== undefined) {
    add("r.country =", params.country.toUpperCase());
  }
  const currency = "COALESCE(NULLIF(r.currency, ''), ?5)";
  // The key's columns up to the last grouped by (provider comes after channel), nothing more.
  const prefix = dims.includes("provider")
    ? ["channel", "provider"]
    : dims.includes("channel")
      ? ["channel"]
      : [];
  const sql = `SELECT r.bucket_start AS bucket, ${prefix.map((c) => `r.${c} AS ${c}, `).join("")}
  MIN(${currency}) AS currency, MAX(${currency}) AS last_currency,
  ${STREAMED_SUMS.map(([name, sum]) => `SUM(${sum}) AS ${name}`).join(", ")}
FROM stat_rollups r
WHERE ${parts.join(" AND ")}
GROUP BY ${["r.bucket_start", ...prefix.map((c) => `r.${c}`)].join(", ")}`;
  const statement = d1.prepare(sql);
  const results = await d1.batch<
    {
      bucket: number;
      channel: string;
      provider: string;
      currency: string;
      last_currency: string;
    } & Record<string, number>
  >(
    ranges.map(([grain, start, end]) =>
      statement.bind(caller.tenant.id, grain, start, end, ...binds),
    ),
  );

  // Each row read (a bucket at a grain) goes to the periods whose spans hold it, with the span's
  // sign: a few rows a span, so looked up by bucket.
  const periodsOf = new Map<string, [label: string | null, sign: number][]>();
  for (const [grain, start, end, sign, label] of spans) {
    for (let at = start; at < end; at += GRAIN_MS[grain]) {
      const key = `${grain}:${at}`;
      periodsOf.set(key, [...(periodsOf.get(key) ?? []), [label, sign]]);
    }
  }
  const sums = new Map<string, RollupSums & Record<string, number>>();
  for (const [i, result] of results.entries()) {
    const grain = ranges[i]?.[0];
    for (const row of result.results) {
      if (row.currency !== row.last_currency) {
        return undefined;
      }
      const values = dims.map((d) => row[d]);
      for (const [label, sign] of periodsOf.get(`${grain}:${row.bucket}`) ?? []) {
        const key = keyOf([label, ...values, row.currency]);
        let group = sums.get(key);
        if (!group) {
          group = { period: label, currency: row.currency } as RollupSums & Record<string, number>;
          for (const [j, d] of dims.entries()) {
            group[d] = values[j] as never;
          }
          for (const [name] of STREAMED_SUMS) {
            group[name] = 0;
          }
          sums.set(key, group);
        }
        for (const [name] of STREAMED_SUMS) {
          group[name] = (group[name] ?? 0) + sign * (row[name] ?? 0);
        }
      }
    }
  }
  return [...sums.values()].filter((g) => g.messages !== 0 || g.cost_micros !== 0);
}
