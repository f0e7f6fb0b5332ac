import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  grainRangesOf,
  grainSpansOf,
  LATENCY_BOUNDS_MS,
  latencyBucketOf,
  localClockOf,
  localTimeOf,
  rowsOf,
  signedSpansOf,
  startOfLocalDay,
} from "../../src/domain/stats";
import { MESSAGE_STATUSES } from "../../src/domain/vocabulary";
import { runScriptedTraffic, scriptedMessages } from "../support/stats-traffic";
import { createTenant, type TestTenant } from "../support/tenants";

const START = Date.parse("2026-03-06T00:07:00Z");
const STEP = 2.5 * 3_600_000;

interface LogRow {
  created_at: number;
  channel: string;
  provider: string | null;
  template_id: string | null;
  country: string | null;
  status: string;
  segments: number;
  cost_micros: number;
}

async function sendLog(tenantId: string): Promise<LogRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT created_at, channel, provider, template_id, country, status, segments, cost_micros
     FROM messages WHERE tenant_id = ?`,
  )
    .bind(tenantId)
    .all<LogRow>();
  return results;
}

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
  "country,status",
  "provider,country,template",
];

/** What `GET /v1/stats` must answer, counted straight from the send log. */
function expectedFrom(log: LogRow[], groupBy: string, timeZone: string) {
  const groups = groupBy.split(",");
  const out = new Map<string, Record<string, unknown>>();
  for (const row of log) {
    const fields: Record<string, unknown> = {};
    for (const g of groups) {
      const local = localTimeOf(row.created_at, timeZone);
      fields[g] =
        g === "day"
          ? local.day
          : g === "hour"
            ? local.hour
            : g === "template"
              ? row.template_id
              : (row[g as keyof LogRow] ?? null);
    }
    const key = JSON.stringify(fields);
    const sums = out.get(key) ?? {
      ...fields,
      messages: 0,
      sent: 0,
      delivered: 0,
      undelivered: 0,
      failed: 0,
      expired: 0,
      canceled: 0,
      segments: 0,
      cost_micros: 0,
    };
    sums.messages = (sums.messages as number) + 1;
    if (row.status in sums) {
      sums[row.status] = (sums[row.status] as number) + 1;
    }
    sums.segments = (sums.segments as number) + row.segments;
    sums.cost_micros = (sums.cost_micros as number) + row.cost_micros;
    out.set(key, sums);
  }
  return [...out.values()]
    .map(({ cost_micros, ...rest }) => ({ ...rest, cost: (cost_micros as number) / 1_000_000 }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function statsOf(tenant: TestTenant, query: string) {
  const res = await tenant.api(`/v1/stats?${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Record<string, unknown>[] }).data;
}

const pick = (rows: Record<string, unknown>[], groups: string[]) =>
  rows
    .map((r) =>
      Object.fromEntries(
        [
          ...groups,
          "messages",
          "sent",
          "delivered",
          "undelivered",
          "failed",
          "expired",
          "canceled",
          "segments",
          "cost",
        ].map((k) => [k, r[k]]),
      ),
    )
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe("statistics rollups", () => {
  it("equal a direct count of the send log after traffic with duplicates, out-of-order receipts and redeliveries", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await runScriptedTraffic(tenant.id, scriptedMessages(tenant.id, 48, START, STEP));
    // Another tenant's traffic in the same buckets counts only for it.
    await runScriptedTraffic(other.id, scriptedMessages(other.id, 16, START, STEP));

    const log = await sendLog(tenant.id);
    const statuses = new Set(log.map((r) => r.status));
    for (const status of ["delivered", "undelivered", "failed", "expired", "canceled", "queued"]) {
      expect(statuses).toContain(status);
    }
    // At each grain: 15 minutes, UTC hours, UTC days.
    for (const [grain, unit] of [
      [0, 900_000],
      [1, 3_600_000],
      [2, 86_400_000],
    ]) {
      const { results: direct } = await env.DB.prepare(
        `SELECT (created_at / CAST(?2 AS INTEGER)) * ?2 AS bucket_start, channel, COALESCE(provider, '') AS provider,
           COALESCE(template_id, '') AS template_id, COALESCE(country, '') AS country, status,
           COUNT(*) AS messages, SUM(segments) AS segments, SUM(cost_micros) AS cost_micros
         FROM messages WHERE tenant_id = ?1 GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
      )
        .bind(tenant.id, unit)
        .all();
      const { results: rollups } = await env.DB.prepare(
        // One column per status in the rollups: one row per status here, as the log has.
        `SELECT bucket_start, channel, provider, template_id, country, st.value AS status,
           SUM(CASE st.value ${MESSAGE_STATUSES.map((s) => `WHEN '${s}' THEN ${s}`).join(" ")} END) AS messages,
           SUM(CASE st.value ${MESSAGE_STATUSES.map((s) => `WHEN '${s}' THEN ${s}_segments`).join(" ")} END) AS segments,
           SUM(CASE st.value ${MESSAGE_STATUSES.map((s) => `WHEN '${s}' THEN ${s}_cost_micros`).join(" ")} END) AS cost_micros
         FROM stat_rollups CROSS JOIN json_each(?3) AS st WHERE tenant_id = ?1 AND grain = ?2
         GROUP BY 1, 2, 3, 4, 5, 6 HAVING messages <> 0 ORDER BY 1, 2, 3, 4, 5, 6`,
      )
        .bind(tenant.id, grain, JSON.stringify(MESSAGE_STATUSES))
        .all();
      expect(rollups, `grain ${grain}`).toEqual(direct);
    }

    for (const groupBy of GROUPINGS) {
      // By time (and channel or provider) each grain's stretch is read in key order (services/stats
      // `streamedSums`), otherwise by the one grouped query; a local day in Shanghai, New York or
      // Kolkata as its UTC day plus and less the edge hours (domain/stats `signedSpansOf`).
      for (const tz of ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Shanghai"]) {
        const data = await statsOf(
          tenant,
          `from=2026-03-05&to=2026-03-11&tz=${tz}&group_by=${groupBy}`,
        );
        const groups = groupBy.split(",");
        expect(pick(data, groups), `${groupBy} in ${tz}`).toEqual(
          pick(expectedFrom(log, groupBy, tz), groups),
        );
      }
    }
  });

  it("answers delivery rate, cost in the tenant's currency, and latency percentiles", async () => {
    const tenant = await createTenant();
    await runScriptedTraffic(tenant.id, scriptedMessages(tenant.id, 24, START, STEP));
    const data = await statsOf(tenant, "from=2026-03-01&to=2026-03-31&group_by=channel");
    expect(data).toHaveLength(1);
    const [total] = data;
    const log = await sendLog(tenant.id);
    const count = (s: string) => log.filter((r) => r.status === s).length;
    const ended = count("delivered") + count("undelivered") + count("failed") + count("expired");
    expect(total).toMatchObject({
      channel: "sms",
      messages: log.length,
      currency: "USD",
      delivered: count("delivered"),
      delivery_rate: Math.round((count("delivered") / ended) * 10_000) / 10_000,
      inbound: 0,
    });
    // Accepted days ago, sent and delivered now: the overflow bucket's lower bound.
    expect(total?.p50_delivery_ms).toBe(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]);
    const byTemplate = await statsOf(tenant, "from=2026-03-01&to=2026-03-31&group_by=template");
    expect(byTemplate.every((r) => r.p50_delivery_ms === null)).toBe(true);
  });

  it("answers a group priced in two currencies as two rows, by time (read in key order) and by country", async () => {
    const tenant = await createTenant();
    const hour = Date.parse("2026-03-06T10:00:00Z");
    const insert = env.DB.prepare(
      `INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country,
         currency, mode, delivered, delivered_segments, delivered_cost_micros)
       VALUES (?1, ?2, ?3, 'sms', 'sandbox', '', 'CN', ?4, 'live', ?5, ?5, ?5 * 6500)`,
    );
    // As the triggers keep them: each 15-minute row summed into its hour and its day.
    const rows = [];
    for (const [currency, n] of [
      ["USD", 3],
      ["EUR", 2],
    ] as const) {
      rows.push(
        insert.bind(tenant.id, 0, hour + 900_000, currency, n),
        insert.bind(tenant.id, 1, hour, currency, n),
        insert.bind(tenant.id, 2, Date.parse("2026-03-06T00:00:00Z"), currency, n),
      );
    }
    await env.DB.batch(rows);
    for (const query of ["group_by=day", "group_by=hour", "group_by=day,country"]) {
      const data = await statsOf(tenant, `from=2026-03-06&to=2026-03-06&tz=Asia/Shanghai&${query}`);
      expect(data.map((r) => [r.currency, r.messages, r.delivered, r.cost]).sort(), query).toEqual([
        ["EUR", 2, 2, 0.013],
        ["USD", 3, 3, 0.0195],
      ]);
    }
  });

  it("puts each latency in the bucket domain/stats names (the migration's CASE agrees)", async () => {
    const tenant = await createTenant();
    const latencies = [0, 249, 250, 999, 1_000, 45_000, 3_599_999, 86_399_999, 86_400_000, 9e8];
    const batch = scriptedMessages(tenant.id, latencies.length, START, 60_000);
    const { logMessages } = await import("../../src/durable-objects/dispatcher/send-log");
    await logMessages(env.DB, batch);
    for (const [i, m] of batch.entries()) {
      await env.DB.prepare("UPDATE messages SET sent_at = created_at + ? WHERE id = ?")
        .bind(latencies[i], m.id)
        .run();
      // Written again: sent_at is counted once.
      await env.DB.prepare("UPDATE messages SET sent_at = sent_at WHERE id = ?").bind(m.id).run();
    }
    const expected = new Map<number, number>();
    for (const ms of latencies) {
      expected.set(latencyBucketOf(ms), (expected.get(latencyBucketOf(ms)) ?? 0) + 1);
    }
    // One histogram row per bucket of acceptance, a column per latency bucket (b0 … b16), kept
    // alike at every grain.
    const columns = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, le) => `b${le}`);
    for (const grain of [0, 1, 2]) {
      const sums = await env.DB.prepare(
        `SELECT ${columns.map((b) => `SUM(${b}) AS ${b}`).join(", ")} FROM stat_latencies
         WHERE tenant_id = ? AND grain = ? AND metric = 'sent'`,
      )
        .bind(tenant.id, grain)
        .first<Record<string, number>>();
      const results = columns
        .map((b, le) => ({ le, n: sums?.[b] ?? 0 }))
        .filter(({ n }) => n !== 0);
      expect(results, `grain ${grain}`).toEqual(
        [...expected].sort((a, b) => a[0] - b[0]).map(([le, n]) => ({ le, n })),
      );
    }
  });

  it("covers a range with whole UTC days and hours inside and 15-minute buckets at its edges", () => {
    const at = (iso: string) => Date.parse(iso);
    // A Kolkata day: 18:30Z to 18:30Z.
    expect(grainSpansOf(at("2026-03-06T18:30:00Z"), at("2026-03-07T18:30:00Z"))).toEqual([
      [0, at("2026-03-06T18:30:00Z"), at("2026-03-06T19:00:00Z")],
      [1, at("2026-03-06T19:00:00Z"), at("2026-03-07T00:00:00Z")],
      [1, at("2026-03-07T00:00:00Z"), at("2026-03-07T18:00:00Z")],
      [0, at("2026-03-07T18:00:00Z"), at("2026-03-07T18:30:00Z")],
    ]);
    expect(grainSpansOf(at("2026-03-05T23:45:00Z"), at("2026-03-08T01:15:00Z"))).toEqual([
      [0, at("2026-03-05T23:45:00Z"), at("2026-03-06T00:00:00Z")],
      [2, at("2026-03-06T00:00:00Z"), at("2026-03-08T00:00:00Z")],
      [1, at("2026-03-08T00:00:00Z"), at("2026-03-08T01:00:00Z")],
      [0, at("2026-03-08T01:00:00Z"), at("2026-03-08T01:15:00Z")],
    ]);
    expect(grainSpansOf(at("2026-03-06T10:15:00Z"), at("2026-03-06T10:45:00Z"))).toEqual([
      [0, at("2026-03-06T10:15:00Z"), at("2026-03-06T10:45:00Z")],
    ]);
  });

  it("tells the local time of every quarter hour of a range as localTimeOf does, across DST changes", () => {
    // New York and Lord Howe (a 30-minute change) in spring and autumn; Kathmandu at +5:45.
    const zones = ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"];
    for (const zone of zones) {
      // Spring and autumn changes in both hemispheres fall in these ranges.
      for (const [from, to] of [
        ["2026-03-01T00:00:00Z", "2026-04-15T00:00:00Z"],
        ["2026-09-20T00:15:00Z", "2026-11-10T00:45:00Z"],
      ]) {
        const start = Date.parse(from as string);
        const end = Date.parse(to as string);
        const clock = localClockOf(zone, start, end);
        for (let at = start; at < end; at += 900_000) {
          expect(clock(at), `${zone} ${new Date(at).toISOString()}`).toEqual(localTimeOf(at, zone));
        }
      }
    }
  });

  it("joins adjacent spans of one grain into the stretches a read walks", () => {
    const at = (iso: string) => Date.parse(iso);
    // Two Shanghai days (16:00Z to 16:00Z): their hours run on from one day into the next.
    const spans = [
      ...grainSpansOf(at("2026-03-05T16:00:00Z"), at("2026-03-06T16:00:00Z")),
      ...grainSpansOf(at("2026-03-06T16:00:00Z"), at("2026-03-07T16:00:00Z")),
    ];
    expect(grainRangesOf(spans)).toEqual([
      [1, at("2026-03-05T16:00:00Z"), at("2026-03-07T16:00:00Z")],
    ]);
    // One range over them: hours, a day, hours; the hours are two stretches.
    expect(
      grainRangesOf(grainSpansOf(at("2026-03-05T16:00:00Z"), at("2026-03-07T16:15:00Z"))),
    ).toEqual([
      [0, at("2026-03-07T16:00:00Z"), at("2026-03-07T16:15:00Z")],
      [1, at("2026-03-05T16:00:00Z"), at("2026-03-06T00:00:00Z")],
      [1, at("2026-03-07T00:00:00Z"), at("2026-03-07T16:00:00Z")],
      [2, at("2026-03-06T00:00:00Z"), at("2026-03-07T00:00:00Z")],
    ]);
  });

  it("reads a day across UTC midnights as whole UTC days, plus and less the edges, when fewer rows", () => {
    const at = (iso: string) => Date.parse(iso);
    // A Shanghai day (16:00Z to 16:00Z): its UTC day, plus the 8 hours before, less its last 8.
    expect(signedSpansOf(at("2026-03-05T16:00:00Z"), at("2026-03-06T16:00:00Z"))).toEqual([
      [2, at("2026-03-06T00:00:00Z"), at("2026-03-07T00:00:00Z"), 1],
      [1, at("2026-03-05T16:00:00Z"), at("2026-03-06T00:00:00Z"), 1],
      [1, at("2026-03-06T16:00:00Z"), at("2026-03-07T00:00:00Z"), -1],
    ]);
    // A UTC day, an hour, and a range shorter than half a day: as grainSpansOf covers them.
    for (const [from, to] of [
      ["2026-03-06T00:00:00Z", "2026-03-07T00:00:00Z"],
      ["2026-03-06T16:00:00Z", "2026-03-06T17:00:00Z"],
      ["2026-03-06T10:15:00Z", "2026-03-06T20:45:00Z"],
    ] as const) {
      expect(signedSpansOf(at(from), at(to))).toEqual(
        grainSpansOf(at(from), at(to)).map((span) => [...span, 1]),
      );
    }
    // Each quarter hour counted exactly once inside the range and never outside it, in fewer
    // rows than the plain cover, for local days in zones with DST changes and odd offsets
    // (New York's 23- and 25-hour days, Lord Howe's 30-minute change, +5:30, +5:45, +12:45).
    const zones = [
      "America/New_York",
      "Australia/Lord_Howe",
      "Asia/Kolkata",
      "Asia/Kathmandu",
      "Pacific/Chatham",
      "Asia/Shanghai",
    ];
    const days = ["2026-03-07", "2026-03-08", "2026-04-05", "2026-10-04", "2026-11-01"];
    for (const zone of zones) {
      for (const day of days) {
        const start = startOfLocalDay(day, zone);
        const end = startOfLocalDay(
          new Date(at(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10),
          zone,
        );
        const spans = signedSpansOf(start, end);
        const count = new Map<number, number>();
        for (const [grain, from, to, sign] of spans) {
          const unit = [900_000, 3_600_000, 86_400_000][grain] ?? 0;
          for (let bucket = from; bucket < to; bucket += unit) {
            for (let q = bucket; q < bucket + unit; q += 900_000) {
              count.set(q, (count.get(q) ?? 0) + sign);
            }
          }
        }
        for (const [q, n] of count) {
          expect(n, `${zone} ${day} ${new Date(q).toISOString()}`).toBe(
            q >= start && q < end ? 1 : 0,
          );
        }
        for (let q = start; q < end; q += 900_000) {
          expect(count.get(q), `${zone} ${day} ${new Date(q).toISOString()}`).toBe(1);
        }
        expect(rowsOf(spans)).toBeLessThanOrEqual(rowsOf(grainSpansOf(start, end)));
      }
    }
  });

  it("reads a span added to one day and taken from the next once", () => {
    const at = (iso: string) => Date.parse(iso);
    const days = [
      [at("2026-03-05T16:00:00Z"), at("2026-03-06T16:00:00Z")],
      [at("2026-03-06T16:00:00Z"), at("2026-03-07T16:00:00Z")],
    ] as const;
    expect(grainRangesOf(days.flatMap(([from, to]) => signedSpansOf(from, to)))).toEqual([
      [1, at("2026-03-05T16:00:00Z"), at("2026-03-06T00:00:00Z")],
      [1, at("2026-03-06T16:00:00Z"), at("2026-03-07T00:00:00Z")],
      [1, at("2026-03-07T16:00:00Z"), at("2026-03-08T00:00:00Z")],
      [2, at("2026-03-06T00:00:00Z"), at("2026-03-08T00:00:00Z")],
    ]);
  });
});
