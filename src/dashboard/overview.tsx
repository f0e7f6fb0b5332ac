/** The Overview (the landing page of roles that read statistics) and the Verification pages. */
import { LIMIT_NAMES } from "../domain/verification-limits";
import type { DayStats } from "../services/verifications/stats";
import { Chart, FilterField, FilterForm, NoticeLine, Table } from "./components";
import { hasKey } from "./i18n";
import { Layout } from "./layout";
import { LiveRegion } from "./live-region";
import {
  OVERVIEW_PERIODS,
  type OverviewData,
  type OverviewPeriod,
  type Totals,
} from "./overview-data";
import { type Notice, useUi } from "./ui";

function useFigures() {
  const { t, fmt } = useUi();
  const dash = t("common.dash");
  return {
    rate: (r: number | null) => (r === null ? dash : fmt.percent(r)),
    ms: (n: number | null) => (n === null ? dash : t("overview.ms", { n: fmt.number(n) })),
    cost: (cost: Totals["cost"]) =>
      cost.length === 0
        ? fmt.money(0)
        : cost.map((c) => fmt.money(c.amount, c.currency)).join(" + "),
    channel: (c: string) => {
      const key = `overview.channel.${c}`;
      return hasKey(key) ? t(key) : c;
    },
  };
}

const PERIOD_KEYS = {
  1: "overview.today",
  7: "overview.days7",
  30: "overview.days30",
} as const satisfies { [p in OverviewPeriod]: string };

function KpiTable(props: { totals: OverviewData["totals"] }) {
  const { t, fmt } = useUi();
  const f = useFigures();
  const rows: [string, (x: Totals) => string][] = [
    [t("overview.sent"), (x) => fmt.number(x.sent)],
    [t("overview.delivery_rate"), (x) => f.rate(x.deliveryRate)],
    [t("overview.failed"), (x) => fmt.number(x.failed)],
    [t("overview.cost"), (x) => f.cost(x.cost)],
    [t("overview.inbound"), (x) => fmt.number(x.inbound)],
  ];
  return (
    <div class="kpis">
      {OVERVIEW_PERIODS.map((p) => (
        <section class="card kpi" aria-label={t(PERIOD_KEYS[p])}>
          <h2>{t(PERIOD_KEYS[p])}</h2>
          <dl>
            {rows.map(([label, value]) => (
              <div>
                <dt>{label}</dt>
                <dd>{value(props.totals[p])}</dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </div>
  );
}

function RateTable(props: {
  rows: OverviewData["providers"];
  by: "provider" | "country" | "template";
}) {
  const { t, fmt } = useUi();
  const f = useFigures();
  const heads = {
    provider: t("overview.col_provider"),
    country: t("overview.col_country"),
    template: t("overview.col_template"),
  };
  return (
    <Table
      head={[
        heads[props.by],
        t("overview.sent"),
        t("overview.col_delivered"),
        t("overview.delivery_rate"),
      ]}
      empty={props.rows.length === 0}
    >
      {props.rows.map((r) => (
        <tr>
          <td class={props.by === "country" ? "" : "mono"}>{r[props.by] ?? t("common.dash")}</td>
          <td>{fmt.number(r.messages)}</td>
          <td>{fmt.number(r.delivered)}</td>
          <td>{f.rate(r.delivery_rate)}</td>
        </tr>
      ))}
    </Table>
  );
}

export function OverviewPage(props: { data: OverviewData }) {
  const { t, fmt } = useUi();
  const f = useFigures();
  const d = props.data;
  const budget = d.budget;
  const used = budget.limit ? Math.min(1, budget.used / budget.limit) : null;
  const period = t(PERIOD_KEYS[d.period]);
  return (
    <Layout title={t("overview.title")}>
      <LiveRegion id="live-overview">
        <KpiTable totals={d.totals} />
        <div class="card">
          <h2>{t("overview.chart_title")}</h2>
          <Chart
            label={t("overview.chart_label")}
            data={{
              kind: "line",
              x: d.chart.x,
              series: d.chart.series.map((s) => ({
                label: f.channel(s.channel),
                values: s.values,
              })),
              yLabel: t("overview.sent"),
            }}
          >
            {t("overview.chart_caption", { zone: fmt.zone })}
          </Chart>
        </div>
        <div class="card">
          <h2>{t("overview.budget_title")}</h2>
          <p>
            {budget.limit === null
              ? t("overview.budget_none", {
                  month: budget.month,
                  used: fmt.money(budget.used, budget.currency),
                })
              : t("overview.budget_used", {
                  month: budget.month,
                  used: fmt.money(budget.used, budget.currency),
                  limit: fmt.money(budget.limit, budget.currency),
                })}
          </p>
          {used === null ? null : (
            <progress class="budget" max="100" value={String(Math.round(used * 100))}>
              {fmt.percent(used)}
            </progress>
          )}
          {budget.balance === null ? null : (
            <p>{t("overview.balance", { balance: fmt.money(budget.balance, budget.currency) })}</p>
          )}
        </div>
        <nav class="period-switch" aria-label={t("overview.period")}>
          {OVERVIEW_PERIODS.map((p) =>
            p === d.period ? (
              <strong>{t(PERIOD_KEYS[p])}</strong>
            ) : (
              <a href={`/dashboard/overview?days=${p}`}>{t(PERIOD_KEYS[p])}</a>
            ),
          )}
        </nav>
        <div class="card">
          <h2>{t("overview.templates_title", { period })}</h2>
          <RateTable rows={d.templates} by="template" />
        </div>
        <div class="card">
          <h2>{t("overview.providers_title", { period })}</h2>
          <RateTable rows={d.providers} by="provider" />
        </div>
        <div class="card">
          <h2>{t("overview.countries_title", { period })}</h2>
          <RateTable rows={d.countries} by="country" />
        </div>
        <div class="card">
          <h2>{t("overview.health_title")}</h2>
          <Table
            head={[
              t("overview.col_provider"),
              t("overview.sent"),
              t("overview.failure_rate"),
              t("overview.p50"),
              t("overview.p95"),
            ]}
            empty={d.health.length === 0}
          >
            {d.health.map((h) => (
              <tr>
                <td class="mono">{h.provider ?? t("common.dash")}</td>
                <td>{fmt.number(h.messages)}</td>
                <td>{f.rate(h.failureRate)}</td>
                <td>{f.ms(h.p50)}</td>
                <td>{f.ms(h.p95)}</td>
              </tr>
            ))}
          </Table>
          <p class="muted">{t("overview.health_note")}</p>
        </div>
      </LiveRegion>
    </Layout>
  );
}

export function VerificationPage(props: {
  days: DayStats[];
  from?: string;
  to?: string;
  notice?: Notice;
}) {
  const { t, fmt } = useUi();
  const f = useFigures();
  const sum = (pick: (d: DayStats) => number) => props.days.reduce((n, d) => n + pick(d), 0);
  const started = sum((d) => d.started);
  const approved = sum((d) => d.approved);
  const refusals = LIMIT_NAMES.map((name) => ({ name, n: sum((d) => d.refusals[name] ?? 0) }));
  return (
    <Layout title={t("verification.title")}>
      <NoticeLine notice={props.notice} />
      <div class="card">
        <FilterForm action="/dashboard/verification">
          <FilterField name="from" label={t("verification.from")} type="date" value={props.from} />
          <FilterField name="to" label={t("verification.to")} type="date" value={props.to} />
        </FilterForm>
        <p class="muted">{t("verification.utc_note")}</p>
      </div>
      <div class="kpis">
        <section class="card kpi">
          <h2>{t("verification.totals")}</h2>
          <dl>
            <div>
              <dt>{t("verification.started")}</dt>
              <dd>{fmt.number(started)}</dd>
            </div>
            <div>
              <dt>{t("verification.sent")}</dt>
              <dd>{fmt.number(sum((d) => d.sent))}</dd>
            </div>
            <div>
              <dt>{t("verification.approved_count")}</dt>
              <dd>{fmt.number(approved)}</dd>
            </div>
            <div>
              <dt>{t("verification.conversion")}</dt>
              <dd>{f.rate(started === 0 ? null : approved / started)}</dd>
            </div>
          </dl>
        </section>
        <section class="card kpi">
          <h2>{t("verification.refusals_title")}</h2>
          <dl>
            {refusals.map((r) => (
              <div>
                <dt>{t(`verification.limit.${r.name}`)}</dt>
                <dd>{fmt.number(r.n)}</dd>
              </div>
            ))}
          </dl>
        </section>
      </div>
      {props.days.length > 0 ? (
        <div class="card">
          <Chart
            label={t("verification.chart_label")}
            data={{
              kind: "line",
              x: props.days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000),
              series: [
                { label: t("verification.started"), values: props.days.map((d) => d.started) },
                { label: t("verification.sent"), values: props.days.map((d) => d.sent) },
                {
                  label: t("verification.approved_count"),
                  values: props.days.map((d) => d.approved),
                },
              ],
            }}
          />
        </div>
      ) : null}
      <div class="card">
        <Table
          head={[
            t("verification.date"),
            t("verification.started"),
            t("verification.sent"),
            t("verification.approved_count"),
            t("verification.conversion"),
            t("verification.refused"),
          ]}
          empty={props.days.length === 0}
        >
          {props.days.map((d) => (
            <tr>
              <td class="mono">{d.date}</td>
              <td>{fmt.number(d.started)}</td>
              <td>{fmt.number(d.sent)}</td>
              <td>{fmt.number(d.approved)}</td>
              <td>{f.rate(d.conversion_rate)}</td>
              <td>{fmt.number(Object.values(d.refusals).reduce((n, v) => n + (v ?? 0), 0))}</td>
            </tr>
          ))}
        </Table>
      </div>
    </Layout>
  );
}
