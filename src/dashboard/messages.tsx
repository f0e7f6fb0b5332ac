/**
 * The Messages area's pages: the list with its filters, a message's detail (attempt timeline),
 * Send (one message, free text or a template; the live preview), Batches (CSV upload with its
 * per-row report, progress, cancel) and Scheduled messages (cancel). Routes: messages-routes.tsx.
 */
import { smsFiguresOf } from "../domain/segments";
import { MESSAGE_STATUSES, SEND_CHANNELS, type VariableDeclaration } from "../domain/vocabulary";
import type { BatchView } from "../services/messaging/batch-reads";
import type { AcceptedBatch } from "../services/messaging/batches";
import type { AttemptRow, MessageRow } from "../services/messaging/message-reads";
import type { Preview } from "../services/messaging/messages";
import {
  ConfirmAction,
  Csrf,
  Field,
  FilterField,
  FilterForm,
  NoticeLine,
  Pager,
  Table,
} from "./components";
import type { FieldErrors } from "./forms";
import { Layout, StatusPill } from "./layout";
import { LiveRegion } from "./live-region";
import { rowReasonText } from "./problem-text";
import { type Notice, useUi } from "./ui";

/** "2 · UCS-2" for an SMS; a WeChat message has no segments. */
function segmentsText(m: MessageRow): string {
  const { segments, encoding } = smsFiguresOf(m);
  return segments === null ? "—" : `${segments} · ${encoding}`;
}

/** What can still be canceled: a message not yet handed to a provider. */
export const CANCELABLE: ReadonlySet<string> = new Set(["scheduled", "queued"]);

export interface MessageQuery {
  status?: string;
  channel?: string;
  to?: string;
  template_id?: string;
  batch_id?: string;
  from?: string;
  until?: string;
}

export interface TemplateChoice {
  id: string;
  name: string;
  variables: readonly VariableDeclaration[];
}

export function MessagesPage(props: {
  messages: MessageRow[];
  query: MessageQuery;
  templates: readonly TemplateChoice[];
  cursor?: string;
  nextCursor: string | null;
  notice?: Notice;
  canSend: boolean;
}) {
  const { t, fmt } = useUi();
  const q = props.query;
  return (
    <Layout title={t("messages.title")}>
      <NoticeLine notice={props.notice} />
      {props.canSend ? (
        <p>
          <a class="button" href="/dashboard/send">
            {t("send.title")}
          </a>
        </p>
      ) : null}
      <div class="card">
        <FilterForm action="/dashboard/messages">
          <FilterField
            name="status"
            label={t("messages.status")}
            value={q.status}
            options={[
              { value: "", label: t("common.all") },
              ...MESSAGE_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
            ]}
          />
          <FilterField
            name="channel"
            label={t("messages.channel")}
            value={q.channel}
            options={[
              { value: "", label: t("common.all") },
              ...SEND_CHANNELS.map((ch) => ({ value: ch, label: t(`channel.${ch}`) })),
            ]}
          />
          <FilterField name="to" label={t("messages.number")} value={q.to} type="search" />
          <FilterField
            name="template_id"
            label={t("messages.template")}
            value={q.template_id}
            options={[
              { value: "", label: t("common.all") },
              ...props.templates.map((tpl) => ({ value: tpl.id, label: tpl.name })),
            ]}
          />
          <FilterField name="batch_id" label={t("messages.batch")} value={q.batch_id} />
          <FilterField name="from" label={t("messages.from_date")} value={q.from} type="date" />
          <FilterField name="until" label={t("messages.until_date")} value={q.until} type="date" />
        </FilterForm>
        <LiveRegion id="live-messages">
          <Table
            head={[
              t("messages.col_message"),
              t("messages.col_to"),
              t("messages.col_status"),
              t("messages.col_segments"),
              t("messages.col_cost"),
              t("messages.col_created"),
            ]}
          >
            {props.messages.map((m) => (
              <tr>
                <td>
                  <a class="mono" href={`/dashboard/messages/${m.id}`}>
                    {m.id}
                  </a>
                </td>
                <td class="mono">{m.recipient}</td>
                <td>
                  <StatusPill status={m.status} />
                </td>
                <td>{segmentsText(m)}</td>
                <td>{fmt.moneyMicros(m.costMicros, m.currency ?? undefined)}</td>
                <td>{fmt.dateTime(m.createdAt)}</td>
              </tr>
            ))}
          </Table>
          {props.messages.length === 0 ? <p class="muted">{t("messages.empty")}</p> : null}
          <p class="muted">{t("message.times_in", { zone: fmt.zone })}</p>
          <Pager
            base="/dashboard/messages"
            query={{ ...q }}
            cursor={props.cursor}
            nextCursor={props.nextCursor}
          />
        </LiveRegion>
      </div>
    </Layout>
  );
}

interface TimelineEvent {
  at: number;
  label: string;
  detail?: string;
  status?: string;
}

/** The message's life in order: accepted, due, each attempt, handed over, its outcome. */
function timelineOf(
  m: MessageRow,
  attempts: AttemptRow[],
  t: ReturnType<typeof useUi>["t"],
): TimelineEvent[] {
  const events: TimelineEvent[] = [{ at: m.createdAt, label: t("timeline.accepted") }];
  if (m.sendAt !== null && m.sendAt > m.createdAt) {
    events.push({ at: m.sendAt, label: t("timeline.due") });
  }
  for (const a of attempts) {
    events.push({
      at: a.createdAt,
      label: t("timeline.attempt", { n: a.attempt, provider: a.provider }),
      detail: [a.outcome, a.reason].filter(Boolean).join(" · "),
    });
  }
  if (m.sentAt !== null) {
    events.push({
      at: m.sentAt,
      label: t("timeline.sent", { provider: m.provider ?? "—" }),
      detail: m.providerMessageId ?? undefined,
    });
  }
  if (m.completedAt !== null) {
    events.push({
      at: m.completedAt,
      label: t("timeline.completed"),
      detail: m.statusReason ?? undefined,
      status: m.status,
    });
  }
  return events.sort((a, b) => a.at - b.at);
}

export function MessagePage(props: {
  message: MessageRow;
  attempts: AttemptRow[];
  canCancel: boolean;
  notice?: Notice;
}) {
  const { t, fmt } = useUi();
  const m = props.message;
  const rows: [string, string | number | null][] = [
    [t("message.to"), m.recipient],
    [t("message.from"), m.sender],
    [t("message.channel"), t(`channel.${m.channel}`)],
    [t("message.reason"), m.statusReason],
    [t("message.segments"), segmentsText(m)],
    [t("message.cost"), fmt.moneyMicros(m.costMicros, m.currency ?? undefined)],
    [t("message.provider"), m.provider],
    [t("message.provider_id"), m.providerMessageId],
    [t("message.template"), m.templateId],
    [t("message.batch"), m.batchId],
    [t("message.mode"), m.mode],
    [t("message.created"), fmt.dateTime(m.createdAt)],
    [t("message.due"), fmt.dateTime(m.sendAt)],
    [t("message.sent_at"), fmt.dateTime(m.sentAt)],
    [t("message.completed"), fmt.dateTime(m.completedAt)],
  ];
  return (
    <Layout title={m.id}>
      <p>
        <a href="/dashboard/messages">{t("message.back")}</a>
      </p>
      <NoticeLine notice={props.notice} />
      <div class="card">
        <h2 class="mono">
          <StatusPill status={m.status} />
        </h2>
        <pre class="text">{m.body}</pre>
        <div class="table-scroll">
          <table>
            <tbody>
              {rows.map(([k, v]) => (
                <tr>
                  <th>{k}</th>
                  <td>{v ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted">{t("message.times_in", { zone: fmt.zone })}</p>
        {props.canCancel && CANCELABLE.has(m.status) ? (
          <ConfirmAction
            action={`/dashboard/messages/${m.id}/cancel`}
            label={t("message.cancel")}
            question={t("message.cancel_question")}
          />
        ) : null}
      </div>
      <div class="card">
        <h2>{t("message.timeline")}</h2>
        <ol class="timeline">
          {timelineOf(m, props.attempts, t).map((e) => (
            <li>
              <time>{fmt.dateTime(e.at)}</time> <strong>{e.label}</strong>
              {e.status ? (
                <>
                  {" "}
                  <StatusPill status={e.status} />
                </>
              ) : null}
              {e.detail ? <span class="muted"> {e.detail}</span> : null}
            </li>
          ))}
        </ol>
      </div>
      <div class="card">
        <h2>{t("message.attempts")}</h2>
        <Table
          head={[
            t("message.col_attempt"),
            t("message.col_provider"),
            t("message.col_outcome"),
            t("message.col_reason"),
            t("message.col_latency"),
            t("message.col_at"),
          ]}
        >
          {props.attempts.map((a) => (
            <tr>
              <td>{a.attempt}</td>
              <td>{a.provider}</td>
              <td>{a.outcome}</td>
              <td>{a.reason ?? "—"}</td>
              <td>{t("message.latency_ms", { ms: fmt.number(a.latencyMs) })}</td>
              <td>{fmt.dateTime(a.createdAt)}</td>
            </tr>
          ))}
        </Table>
        {props.attempts.length === 0 ? <p class="muted">{t("message.no_attempts")}</p> : null}
      </div>
    </Layout>
  );
}

/** The text with each sensitive-word hit marked (offsets in UTF-16, as the screener gives). */
function HighlightedText(props: { text: string; hits: Preview["hits"] }) {
  const parts: (string | { word: string; policy: string })[] = [];
  let at = 0;
  for (const hit of [...props.hits].sort((a, b) => a.start - b.start)) {
    if (hit.start < at) {
      continue;
    }
    parts.push(props.text.slice(at, hit.start));
    parts.push({ word: props.text.slice(hit.start, hit.end), policy: hit.policy });
    at = hit.end;
  }
  parts.push(props.text.slice(at));
  return (
    <pre class="text preview-text">
      {parts.map((p) => (typeof p === "string" ? p : <mark class={p.policy}>{p.word}</mark>))}
    </pre>
  );
}

/** The live preview's fragment (htmx swaps it into #preview), or why there is none yet. */
export function PreviewPanel(props: { preview?: Preview; problems?: string[] }) {
  const { t, fmt } = useUi();
  const p = props.preview;
  if (!p) {
    return (
      <div class="preview-panel">
        {props.problems && props.problems.length > 0 ? (
          <ul class="field-error">
            {props.problems.map((problem) => (
              <li>{problem}</li>
            ))}
          </ul>
        ) : (
          <p class="muted">{t("send.preview_empty")}</p>
        )}
      </div>
    );
  }
  return (
    <div class="preview-panel">
      <HighlightedText text={p.text} hits={p.hits} />
      <dl class="figures">
        <dt>{t("send.segments")}</dt>
        <dd data-figure="segments">{fmt.number(p.segments)}</dd>
        <dt>{t("send.encoding")}</dt>
        <dd data-figure="encoding">{p.encoding}</dd>
        <dt>{t("send.characters")}</dt>
        <dd>{fmt.number(p.characters)}</dd>
        <dt>{t("send.cost")}</dt>
        <dd data-figure="cost">{fmt.money(p.cost, p.currency)}</dd>
      </dl>
      {p.hits.length > 0 ? (
        <p class="field-error" data-figure="hits">
          {t("send.hits", {
            n: p.hits.length,
            words: [...new Set(p.hits.map((h) => h.word))].join(", "),
          })}
        </p>
      ) : null}
    </div>
  );
}

/** A template's variable fields with their hints (type, length); htmx swaps them in. */
export function VariableFields(props: {
  template?: TemplateChoice;
  values?: Readonly<Record<string, string>>;
  errors?: FieldErrors;
}) {
  const { t } = useUi();
  const tpl = props.template;
  if (!tpl) {
    return null;
  }
  return (
    <fieldset class="variables">
      <legend>{t("send.variables")}</legend>
      {tpl.variables.length === 0 ? <p class="muted">{t("send.no_variables")}</p> : null}
      {tpl.variables.map((v) => (
        <Field
          name={`variables.${v.name}`}
          label={v.name}
          value={props.values?.[v.name]}
          errors={props.errors}
          maxlength={v.maxLength}
          hint={t("send.variable_hint", { type: v.type, max: v.maxLength })}
        />
      ))}
    </fieldset>
  );
}

export interface SendDraft {
  to: string;
  body: string;
  template_id: string;
  variables: Record<string, string>;
  send_at: string;
}

/** The send form's body/template/variables/when fields, shared by the single and batch forms. */
function ContentFields(props: {
  draft?: Partial<SendDraft>;
  templates: readonly TemplateChoice[];
  errors?: FieldErrors;
  bodyRequired: boolean;
}) {
  const { t, fmt } = useUi();
  const d = props.draft ?? {};
  const chosen = props.templates.find((tpl) => tpl.id === d.template_id);
  return (
    <>
      <Field
        name="template_id"
        label={t("send.template")}
        errors={props.errors}
        hint={t("send.template_hint")}
      >
        <select
          id="field-template_id"
          name="template_id"
          hx-get="/dashboard/send/variables"
          hx-trigger="change"
          hx-target="#variables"
          hx-swap="innerHTML"
        >
          <option value="">{t("send.free_text")}</option>
          {props.templates.map((tpl) => (
            <option value={tpl.id} selected={tpl.id === d.template_id}>
              {tpl.name}
            </option>
          ))}
        </select>
      </Field>
      <noscript>
        <button type="submit" formmethod="get" formaction="/dashboard/send" class="secondary">
          {t("send.load_variables")}
        </button>
      </noscript>
      <div id="variables">
        <VariableFields template={chosen} values={d.variables} errors={props.errors} />
      </div>
      <Field
        name="body"
        label={t("send.body")}
        multiline
        rows={4}
        maxlength={1600}
        value={d.body}
        errors={props.errors}
        hint={t("send.body_hint")}
      />
      <Field
        name="send_at"
        label={t("send.send_at")}
        type="datetime-local"
        value={d.send_at}
        errors={props.errors}
        hint={t("send.send_at_hint", { zone: fmt.zone })}
      />
    </>
  );
}

export function SendPage(props: {
  templates: readonly TemplateChoice[];
  draft?: Partial<SendDraft>;
  errors?: FieldErrors;
  notice?: Notice;
}) {
  const { t } = useUi();
  return (
    <Layout title={t("send.title")}>
      <NoticeLine notice={props.notice} />
      <div class="send-grid">
        <div class="card">
          <h2>{t("messages.send_title")}</h2>
          <form
            method="post"
            action="/dashboard/send"
            id="send-form"
            hx-post="/dashboard/send/preview"
            hx-trigger="load, input delay:300ms, change"
            hx-validate="false"
            hx-target="#preview"
            hx-swap="innerHTML"
          >
            <Csrf />
            <Field
              name="to"
              label={t("messages.to")}
              required
              placeholder="+8613800138000"
              value={props.draft?.to}
              errors={props.errors}
            />
            <ContentFields
              draft={props.draft}
              templates={props.templates}
              errors={props.errors}
              bodyRequired
            />
            <button type="submit">{t("messages.send")}</button>
          </form>
        </div>
        <div class="card" aria-live="polite">
          <h2>{t("send.preview")}</h2>
          <div id="preview">
            <PreviewPanel />
          </div>
          <p class="hint">{t("send.preview_hint")}</p>
        </div>
      </div>
      <p>
        <a href="/dashboard/batches">{t("send.batch_link")}</a>
      </p>
    </Layout>
  );
}

/** A progress bar of a batch: finished messages of all accepted (a <progress>: no inline style). */
export function BatchProgress(props: { view: BatchView; poll: boolean }) {
  const { t, fmt } = useUi();
  const { view } = props;
  const total = view.record.accepted;
  const counts = view.counts;
  const done = Object.entries(counts)
    .filter(([s]) => !["scheduled", "queued", "sending"].includes(s))
    .reduce((n, [, c]) => n + (c ?? 0), 0);
  const delivered = counts.delivered ?? 0;
  const live = props.poll && (view.status === "accepted" || view.status === "sending");
  return (
    <div
      class="batch-progress"
      id={`progress-${view.record.id}`}
      data-status={view.status}
      hx-get={live ? `/dashboard/batches/${view.record.id}/progress` : undefined}
      hx-trigger={live ? "every 2s" : undefined}
      hx-swap={live ? "outerHTML" : undefined}
    >
      <StatusPill status={view.status} />{" "}
      <progress max={Math.max(total, 1)} value={done} aria-label={t("batches.progress")} />{" "}
      <span class="muted">
        {t("batches.progress_text", {
          done: fmt.number(done),
          total: fmt.number(total),
          delivered: fmt.number(delivered),
        })}
      </span>
      <ul class="counts">
        {Object.entries(counts)
          .filter(([, n]) => (n ?? 0) > 0)
          .map(([s, n]) => (
            <li>
              <StatusPill status={s} /> {fmt.number(n ?? 0)}
            </li>
          ))}
      </ul>
    </div>
  );
}

export function BatchesPage(props: {
  views: BatchView[];
  templates: readonly TemplateChoice[];
  cursor?: string;
  nextCursor: string | null;
  canSend: boolean;
  draft?: Partial<SendDraft>;
  errors?: FieldErrors;
  notice?: Notice;
  result?: { accepted: AcceptedBatch; view: BatchView };
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("batches.title")}>
      <NoticeLine notice={props.notice} />
      {props.result ? (
        <BatchReport result={props.result.accepted} view={props.result.view} />
      ) : null}
      {props.canSend ? (
        <div class="card">
          <h2>{t("batches.upload_title")}</h2>
          <form method="post" action="/dashboard/batches" enctype="multipart/form-data">
            <Csrf />
            <Field
              name="csv"
              label={t("batches.file")}
              errors={props.errors}
              hint={t("batches.file_hint")}
            >
              <input
                id="field-csv"
                name="csv"
                type="file"
                accept=".csv,text/csv"
                required
                aria-describedby="field-csv-hint"
              />
            </Field>
            <ContentFields
              draft={props.draft}
              templates={props.templates}
              errors={props.errors}
              bodyRequired={false}
            />
            <button type="submit">{t("batches.upload")}</button>
          </form>
        </div>
      ) : null}
      <div class="card">
        <Table
          head={[
            t("batches.col_batch"),
            t("batches.col_progress"),
            t("batches.col_accepted"),
            t("batches.col_rejected"),
            t("batches.col_send_at"),
            t("common.actions"),
          ]}
        >
          {props.views.map((v) => (
            <tr>
              <td>
                <a class="mono" href={`/dashboard/batches/${v.record.id}`}>
                  {v.record.id}
                </a>
              </td>
              <td>
                <BatchProgress view={v} poll />
              </td>
              <td>{fmt.number(v.record.accepted)}</td>
              <td>{fmt.number(v.record.rejected)}</td>
              <td>{fmt.dateTime(v.record.sendAt)}</td>
              <td>
                <BatchCancel view={v} canSend={props.canSend} />
              </td>
            </tr>
          ))}
        </Table>
        {props.views.length === 0 ? <p class="muted">{t("batches.empty")}</p> : null}
        <Pager base="/dashboard/batches" cursor={props.cursor} nextCursor={props.nextCursor} />
      </div>
    </Layout>
  );
}

function BatchCancel(props: { view: BatchView; canSend: boolean }) {
  const { t } = useUi();
  const { view } = props;
  if (!props.canSend || view.status === "completed" || view.status === "canceled") {
    return null;
  }
  return (
    <ConfirmAction
      action={`/dashboard/batches/${view.record.id}/cancel`}
      label={t("batches.cancel")}
      question={t("batches.cancel_question", { id: view.record.id })}
    />
  );
}

/** The upload's answer: accepted, and each refused row with why (as the API's 202 lists them). */
function BatchReport(props: { result: AcceptedBatch; view: BatchView }) {
  const ui = useUi();
  const { t, fmt } = ui;
  const r = props.result;
  return (
    <div class="card" id="batch-report">
      <h2>
        {t("batches.report_title")}{" "}
        <a class="mono" href={`/dashboard/batches/${r.id}`}>
          {r.id}
        </a>
      </h2>
      <BatchProgress view={props.view} poll />
      <p>
        {t("batches.report_counts", {
          accepted: fmt.number(r.accepted),
          rejected: fmt.number(r.rejected_count),
        })}
      </p>
      {r.rejected_rows.length > 0 ? (
        <Table head={[t("batches.col_row"), t("batches.col_reason")]}>
          {r.rejected_rows.map((row) => (
            <tr>
              <td>{row.row}</td>
              <td>{rowReasonText(ui, row.reason)}</td>
            </tr>
          ))}
        </Table>
      ) : null}
      {r.rejected_count > r.rejected_rows.length ? (
        <p class="muted">
          {t("batches.report_more", { n: fmt.number(r.rejected_count - r.rejected_rows.length) })}
        </p>
      ) : null}
    </div>
  );
}

export function BatchPage(props: { view: BatchView; canSend: boolean; notice?: Notice }) {
  const { t, fmt } = useUi();
  const r = props.view.record;
  return (
    <Layout title={r.id}>
      <p>
        <a href="/dashboard/batches">{t("batches.back")}</a>
      </p>
      <NoticeLine notice={props.notice} />
      <div class="card">
        <BatchProgress view={props.view} poll />
        <div class="table-scroll">
          <table>
            <tbody>
              <tr>
                <th>{t("batches.col_accepted")}</th>
                <td>{fmt.number(r.accepted)}</td>
              </tr>
              <tr>
                <th>{t("batches.col_rejected")}</th>
                <td>{fmt.number(r.rejected)}</td>
              </tr>
              <tr>
                <th>{t("message.template")}</th>
                <td>{r.templateId ?? "—"}</td>
              </tr>
              <tr>
                <th>{t("batches.col_send_at")}</th>
                <td>{fmt.dateTime(r.sendAt)}</td>
              </tr>
              <tr>
                <th>{t("message.created")}</th>
                <td>{fmt.dateTime(r.createdAt)}</td>
              </tr>
              <tr>
                <th>{t("batches.canceled_at")}</th>
                <td>{fmt.dateTime(r.canceledAt)}</td>
              </tr>
            </tbody>
          </table>
        </div>
        <p>
          <a href={`/dashboard/messages?batch_id=${r.id}`}>{t("batches.messages_link")}</a>
        </p>
        <BatchCancel view={props.view} canSend={props.canSend} />
      </div>
    </Layout>
  );
}

export function ScheduledPage(props: {
  messages: MessageRow[];
  cursor?: string;
  nextCursor: string | null;
  canSend: boolean;
  notice?: Notice;
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("scheduled.title")}>
      <NoticeLine notice={props.notice} />
      <div class="card">
        <Table
          head={[
            t("messages.col_message"),
            t("messages.col_to"),
            t("scheduled.col_due"),
            t("messages.col_created"),
            t("common.actions"),
          ]}
        >
          {props.messages.map((m) => (
            <tr>
              <td>
                <a class="mono" href={`/dashboard/messages/${m.id}`}>
                  {m.id}
                </a>
              </td>
              <td class="mono">{m.recipient}</td>
              <td>{fmt.dateTime(m.sendAt)}</td>
              <td>{fmt.dateTime(m.createdAt)}</td>
              <td>
                {props.canSend ? (
                  <ConfirmAction
                    action={`/dashboard/messages/${m.id}/cancel`}
                    label={t("message.cancel")}
                    question={t("message.cancel_question")}
                    fields={{ back: "scheduled" }}
                  />
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
        {props.messages.length === 0 ? <p class="muted">{t("scheduled.empty")}</p> : null}
        <p class="muted">{t("message.times_in", { zone: fmt.zone })}</p>
        <Pager base="/dashboard/scheduled" cursor={props.cursor} nextCursor={props.nextCursor} />
      </div>
    </Layout>
  );
}
