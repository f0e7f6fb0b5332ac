/**
 * The Overview page's figures, read from the same services as `GET /v1/stats` and the tenant's
 * budget usage: no count is made here, only the service's rows summed into the page's shapes.
 * Days are the tenant's local days (its zone, like every date the dashboard shows).
 */
import type { Caller } from "../domain/caller";
import { BUCKET_MS, deliveryRate, localTimeOf, startOfLocalDay } from "../domain/stats";
import { type BudgetUsageView, budgetUsageOf } from "../services/accounts/budget";
import { type StatsRow, statsOf } from "../services/stats/stats";

export const OVERVIEW_PERIODS = [1, 7, 30] as const;
export type OverviewPeriod = (typeof OVERVIEW_PERIODS)[number];

export interface Totals {
  /** Messages accepted in the period. */
  sent: number;
  delivered: number;
  /** Failed, undelivered or expired: the messages that ended without reaching the handset. */
  failed: number;
  deliveryRate: number | null;
  /** Per currency (rows priced before a currency change keep theirs). */
  cost: { currency: string; amount: number }[];
  inbound: number;
}

export interface HealthRow {
  provider: string | null;
  messages: number;
  failureRate: number | null;
  p50: number | null;
  p95: number | null;
}

export interface OverviewData {
  period: OverviewPeriod;
  totals: { [p in OverviewPeriod]: Totals };
  /** One point per local day of the last 30, messages per channel. */
  chart: { x: number[]; days: string[]; series: { channel: string; values: number[] }[] };
  templates: StatsRow[];
  providers: StatsRow[];
  countries: StatsRow[];
  health: HealthRow[];
  budget: BudgetUsageView & { limit: number | null };
}

const DAY_MS = 86_400_000;

/** The local date `n` days before `day` (a `YYYY-MM-DD`). */
const daysBefore = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) - n * DAY_MS).toISOString().slice(0, 10);

function totalsOf(rows: readonly StatsRow[]): Totals {
  const sum = { delivered: 0, undelivered: 0, failed: 0, expired: 0 };
  const cost = new Map<string, number>();
  let sent = 0;
  let inbound = 0;
  for (const r of rows) {
    sent += r.messages;
    sum.delivered += r.delivered;
    sum.undelivered += r.undelivered;
    sum.failed += r.failed;
    sum.expired += r.expired;
    inbound += r.inbound ?? 0;
    if (r.cost !== 0) {
      cost.set(r.currency, (cost.get(r.currency) ?? 0) + r.cost);
    }
  }
  return {
    sent,
    delivered: sum.delivered,
    failed: sum.failed + sum.undelivered + sum.expired,
    deliveryRate: deliveryRate(sum),
    cost: [...cost].map(([currency, amount]) => ({
      currency,
      amount: Math.round(amount * 1_000_000) / 1_000_000,
    })),
    inbound,
  };
}

/** Rows of one grouping summed over currencies (a group priced in two has two rows). */
function merged(rows: readonly StatsRow[], key: "template" | "provider" | "country"): StatsRow[] {
  const byKey = new Map<string, StatsRow>();
  for (const r of rows) {
    const k = r[key] ?? "";
    const seen = byKey.get(k);
    if (!seen) {
      byKey.set(k, { ...r });
      continue;
    }
    for (const f of ["messages", "delivered", "undelivered", "failed", "expired"] as const) {
      seen[f] += r[f];
    }
    seen.delivery_rate = deliveryRate(seen);
  }
  return [...byKey.values()].sort((a, b) => b.messages - a.messages);
}

export async function overviewOf(
  env: Env,
  caller: Caller,
  zone: string,
  period: OverviewPeriod,
  now: number = Date.now(),
): Promise<OverviewData> {
  const today = localTimeOf(now, zone).day;
  const first = daysBefore(today, 29);
  const periodFrom = daysBefore(today, period - 1);
  const range = { from: periodFrom, to: today, tz: zone };
  // The last hour: the four 15-minute buckets ending with the current one.
  const hourEnd = Math.floor(now / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
  const hour = {
    from: new Date(hourEnd - 4 * BUCKET_MS).toISOString(),
    to: new Date(hourEnd).toISOString(),
  };
  const tenant = caller.tenant;
  const [daily, templates, providers, countries, health, usage] = await Promise.all([
    statsOf(env, caller, { from: first, to: today, tz: zone, group_by: "day,channel" }, now),
    statsOf(env, caller, { ...range, group_by: "template" }, now),
    statsOf(env, caller, { ...range, group_by: "provider" }, now),
    statsOf(env, caller, { ...range, group_by: "country" }, now),
    statsOf(env, caller, { ...hour, group_by: "provider" }, now),
    budgetUsageOf(env, tenant.id, tenant),
  ]);

  const days = Array.from({ length: 30 }, (_, i) => daysBefore(today, 29 - i));
  const channels = [...new Set(daily.map((r) => r.channel ?? "sms"))].sort();
  const series = channels.map((channel) => {
    const values = days.map(() => 0);
    for (const r of daily) {
      const at = days.indexOf(r.day ?? "");
      if ((r.channel ?? "sms") === channel && at >= 0) {
        values[at] = (values[at] ?? 0) + r.messages;
      }
    }
    return { channel, values };
  });
  const within = (n: number) => {
    const from = daysBefore(today, n - 1);
    return daily.filter((r) => (r.day ?? "") >= from);
  };
  return {
    period,
    totals: { 1: totalsOf(within(1)), 7: totalsOf(within(7)), 30: totalsOf(within(30)) },
    chart: {
      x: days.map((d) => Math.floor(startOfLocalDay(d, zone) / 1000)),
      days,
      series,
    },
    templates: merged(
      templates.filter((r) => r.template !== null),
      "template",
    ).slice(0, 10),
    providers: merged(providers, "provider"),
    countries: merged(countries, "country"),
    health: merged(health, "provider").map((r) => {
      const rate = deliveryRate(r);
      return {
        provider: r.provider ?? null,
        messages: r.messages,
        failureRate: rate === null ? null : Math.round((1 - rate) * 10_000) / 10_000,
        p50: r.p50_delivery_ms,
        p95: r.p95_delivery_ms,
      };
    }),
    budget: {
      ...usage,
      limit: tenant.budgetMicros === null ? null : tenant.budgetMicros / 1_000_000,
    },
  };
}
