/**
 * The desk's reports page (per agent and per day, a chart, the CSV) and the quality inspection
 * pages (the sampled queue, the score form against a checklist, checklist management for admins,
 * the scores: an inspector's every agent's, an agent's own).
 */
import type { ReportRow } from "../domain/desk-reports";
import type { ThreadItem } from "../services/conversations/thread";
import type { Checklist, Inspection, QueueEntry } from "../services/desk/inspections";
import {
  Chart,
  ConfirmAction,
  Csrf,
  Field,
  FieldError,
  FilterField,
  FilterForm,
  type Notice,
  NoticeLine,
  SelectField,
  Table,
} from "./components";
import type { FieldErrors } from "./forms";
import { Layout } from "./layout";
import { useUi } from "./ui";

export interface ReportView {
  from: string;
  to: string;
  zone: string;
  byAgent: ReportRow[];
  byDay: ReportRow[];
  emails: Map<string, string>;
  csvAgent: string;
  csvDay: string;
}

function useSeconds() {
  const { fmt } = useUi();
  return (ms: number | null) =>
    ms === null ? "—" : `${fmt.number(ms / 1000, { maximumFractionDigits: 1 })} s`;
}

function ReportTable(props: {
  rows: ReportRow[];
  keyLabel: string;
  name: (r: ReportRow) => string;
}) {
  const { t, fmt } = useUi();
  const seconds = useSeconds();
  return (
    <Table
      head={[
        props.keyLabel,
        t("desk_reports.handled"),
        t("desk_reports.first_response"),
        t("desk_reports.resolution"),
        t("desk_reports.left_on_time"),
        t("desk_reports.satisfaction"),
        t("desk_reports.inspection"),
      ]}
      empty={props.rows.length === 0}
    >
      {props.rows.map((r) => (
        <tr>
          <td class="figure">{props.name(r)}</td>
          <td class="figure">{fmt.number(r.handled)}</td>
          <td class="figure">
            {seconds(r.firstResponseP50Ms)} / {seconds(r.firstResponseP90Ms)}
          </td>
          <td class="figure">
            {seconds(r.resolutionP50Ms)} / {seconds(r.resolutionP90Ms)}
          </td>
          <td class="figure">
            {fmt.number(r.leftMessagesOnTime)} / {fmt.number(r.leftMessages)}
          </td>
          <td class="figure">
            {r.satisfactionAverage === null
              ? "—"
              : `${fmt.number(r.satisfactionAverage)} (${fmt.number(r.satisfactionCount)})`}
          </td>
          <td class="figure">
            {r.inspectionAverage === null
              ? "—"
              : `${fmt.number(r.inspectionAverage)}% (${fmt.number(r.inspectionCount)})`}
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function ReportsPage(props: { view: ReportView; notice?: Notice }) {
  const { t } = useUi();
  const v = props.view;
  // Every day of the range on the x axis (uPlot spreads a lone point over years otherwise).
  const rowOf = new Map(v.byDay.map((r) => [r.key, r]));
  const allDays: string[] = [];
  for (
    let d = Date.parse(`${v.from}T00:00:00Z`);
    d <= Date.parse(`${v.to}T00:00:00Z`);
    d += 86_400_000
  ) {
    allDays.push(new Date(d).toISOString().slice(0, 10));
  }
  const days = allDays.map((day) => ({ day, row: rowOf.get(day) ?? null }));
  return (
    <Layout title={t("desk_reports.title")}>
      <NoticeLine notice={props.notice} />
      <FilterForm action="/dashboard/desk/reports">
        <FilterField name="from" label={t("desk_reports.from")} type="date" value={v.from} />
        <FilterField name="to" label={t("desk_reports.to")} type="date" value={v.to} />
      </FilterForm>
      <p class="hint">{t("desk_reports.hint", { zone: v.zone })}</p>
      <section class="card">
        <h2>{t("desk_reports.per_day")}</h2>
        <Chart
          label={t("desk_reports.chart_label")}
          data={{
            kind: "line",
            x: days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000),
            series: [
              {
                label: t("desk_reports.first_response_p50"),
                values: days.map(({ row }) =>
                  row?.firstResponseP50Ms == null ? null : row.firstResponseP50Ms / 1000,
                ),
              },
              {
                label: t("desk_reports.resolution_p50"),
                values: days.map(({ row }) =>
                  row?.resolutionP50Ms == null ? null : row.resolutionP50Ms / 1000,
                ),
              },
            ],
            yLabel: t("desk_reports.seconds"),
          }}
        >
          {t("desk_reports.chart_caption")}
        </Chart>
        <ReportTable rows={v.byDay} keyLabel={t("desk_reports.day")} name={(r) => r.key ?? "—"} />
        <p>
          <a href={v.csvDay} download>
            {t("desk_reports.csv")}
          </a>
        </p>
      </section>
      <section class="card">
        <h2>{t("desk_reports.per_agent")}</h2>
        <ReportTable
          rows={v.byAgent}
          keyLabel={t("desk_reports.agent")}
          name={(r) =>
            r.key === null ? t("desk_reports.no_agent") : (v.emails.get(r.key) ?? r.key)
          }
        />
        <p>
          <a href={v.csvAgent} download>
            {t("desk_reports.csv")}
          </a>
        </p>
      </section>
    </Layout>
  );
}

function ScoresTable(props: { scores: Inspection[]; emails: Map<string, string> }) {
  const { t, fmt } = useUi();
  return (
    <Table
      head={[
        t("inspection.conversation"),
        t("inspection.agent"),
        t("inspection.score"),
        t("inspection.comment"),
        t("inspection.at"),
      ]}
      empty={props.scores.length === 0}
    >
      {props.scores.map((s) => (
        <tr>
          <td>
            <code>{s.conversationId}</code>
          </td>
          <td>{s.agentId === null ? "—" : (props.emails.get(s.agentId) ?? s.agentId)}</td>
          <td>
            {fmt.number(s.score)} / {fmt.number(s.maxScore)}
          </td>
          <td>{s.comment ?? ""}</td>
          <td>{fmt.dateTime(s.createdAt)}</td>
        </tr>
      ))}
    </Table>
  );
}

export function MyScoresPage(props: { scores: Inspection[]; emails: Map<string, string> }) {
  const { t } = useUi();
  return (
    <Layout title={t("inspection.my_title")}>
      <section class="card">
        <ScoresTable scores={props.scores} emails={props.emails} />
      </section>
    </Layout>
  );
}

export interface InspectionView {
  queue: QueueEntry[];
  checklists: Checklist[];
  scores: Inspection[];
  emails: Map<string, string>;
  canManage: boolean;
  errors?: FieldErrors;
}

export function InspectionPage(props: { view: InspectionView; notice?: Notice }) {
  const { t, fmt } = useUi();
  const v = props.view;
  return (
    <Layout title={t("inspection.title")}>
      <NoticeLine notice={props.notice} />
      <section class="card">
        <h2>{t("inspection.queue")}</h2>
        <Table
          head={[
            t("inspection.conversation"),
            t("inspection.agent"),
            t("inspection.resolved_at"),
            "",
          ]}
          empty={v.queue.length === 0}
        >
          {v.queue.map((q) => (
            <tr>
              <td>
                <code>{q.conversationId}</code> ({q.channel})
              </td>
              <td>{q.agentId === null ? "—" : (v.emails.get(q.agentId) ?? q.agentId)}</td>
              <td>{fmt.dateTime(q.resolvedAt)}</td>
              <td>
                <a class="button" href={`/dashboard/desk/inspection/${q.conversationId}`}>
                  {t("inspection.score_it")}
                </a>
              </td>
            </tr>
          ))}
        </Table>
      </section>
      <section class="card">
        <h2>{t("inspection.scores")}</h2>
        <ScoresTable scores={v.scores} emails={v.emails} />
      </section>
      <section class="card">
        <h2>{t("inspection.checklists")}</h2>
        <Table
          head={[t("inspection.checklist_name"), t("inspection.items"), ""]}
          empty={v.checklists.length === 0}
        >
          {v.checklists.map((c) => (
            <tr>
              <td>{c.name}</td>
              <td>{c.items.map((i) => `${i.label} (${i.points})`).join(" · ")}</td>
              <td>
                {v.canManage ? (
                  <ConfirmAction
                    action={`/dashboard/desk/inspection/checklists/${c.id}/delete`}
                    label={t("inspection.checklist_delete")}
                    question={t("inspection.checklist_delete_question", { name: c.name })}
                  />
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
        {v.canManage ? (
          <form method="post" action="/dashboard/desk/inspection/checklists" class="narrow">
            <Csrf />
            <h3>{t("inspection.checklist_add")}</h3>
            <Field
              name="name"
              label={t("inspection.checklist_name")}
              required
              maxlength={100}
              errors={v.errors}
            />
            <Field
              name="items"
              label={t("inspection.items")}
              multiline
              rows={4}
              required
              hint={t("inspection.items_hint")}
              errors={v.errors}
              placeholder={"Greets the customer | 10\nSolves the problem | 30"}
            />
            <button type="submit" class="primary">
              {t("inspection.checklist_add")}
            </button>
          </form>
        ) : null}
      </section>
    </Layout>
  );
}

export interface ScoreFormView {
  conversationId: string;
  agentEmail: string | null;
  thread: ThreadItem[];
  checklists: Checklist[];
  checklist: Checklist | null;
  values: Record<string, string>;
  errors?: FieldErrors;
}

export function ScoreFormPage(props: { view: ScoreFormView; notice?: Notice }) {
  const { t, fmt } = useUi();
  const v = props.view;
  const path = `/dashboard/desk/inspection/${v.conversationId}`;
  return (
    <Layout title={t("inspection.score_title")}>
      <NoticeLine notice={props.notice} />
      <section class="card">
        <h2>
          <code>{v.conversationId}</code>
          {v.agentEmail ? ` · ${v.agentEmail}` : ""}
        </h2>
        <ol class="thread">
          {v.thread.map((m) => (
            <li class={`bubble ${m.direction}`}>
              <span>{m.body}</span> <small>{fmt.dateTime(m.at)}</small>
            </li>
          ))}
        </ol>
      </section>
      <section class="card narrow">
        <form method="get" action={path}>
          <SelectField
            name="checklist"
            label={t("inspection.checklist")}
            options={v.checklists.map((c) => ({ value: c.id, label: c.name }))}
            value={v.checklist?.id}
          />
          <button type="submit">{t("inspection.choose")}</button>
        </form>
        {v.checklist ? (
          <form method="post" action={path}>
            <Csrf />
            <input type="hidden" name="checklist_id" value={v.checklist.id} />
            {v.checklist.items.map((item, index) => (
              <div class="field">
                <label for={`points-${item.id}`}>
                  {t("inspection.item_points", { label: item.label, points: item.points })}
                </label>
                <input
                  id={`points-${item.id}`}
                  type="number"
                  name={`points_${item.id}`}
                  min={0}
                  max={item.points}
                  required
                  value={v.values[`points_${item.id}`] ?? String(item.points)}
                />
                <FieldError error={v.errors?.[`items.${index}.points`]} />
              </div>
            ))}
            <FieldError error={v.errors?.items ?? v.errors?.checklist_id} />
            <Field
              name="comment"
              label={t("inspection.comment")}
              multiline
              rows={3}
              maxlength={2000}
              value={v.values.comment ?? ""}
              errors={v.errors}
            />
            <button type="submit" class="primary">
              {t("inspection.save")}
            </button>
          </form>
        ) : (
          <p>{t("inspection.no_checklist")}</p>
        )}
      </section>
    </Layout>
  );
}
