/**
 * The dashboard's shared pieces: GET filter forms over tables with cursor paging, form fields with
 * the field-level errors of a problem+json's pointers, confirmation before destructive actions
 * (a <details> disclosure: no script), flash notices. All read the request's Ui (`useUi`).
 */
import type { Child } from "hono/jsx";
import type { ProblemSlug } from "../lib/problem";
import type { FieldErrors } from "./forms";
import { problemText } from "./problem-text";
import { type Notice, useUi } from "./ui";

export type { Notice } from "./ui";
export { problemNotice } from "./ui";

/** A service's problem text in the page's language (problem-text.ts): every page shows them so. */
export function ProblemText(props: { text: string; slug?: ProblemSlug }) {
  const ui = useUi();
  return <>{problemText(ui, props.text, props.slug)}</>;
}

/** A field's error under its input (the id lets the input's aria-describedby name it). */
export function FieldError(props: { error?: string; id?: string }) {
  return props.error ? (
    <p class="field-error" id={props.id}>
      <ProblemText text={props.error} />
    </p>
  ) : null;
}

/** The hidden CSRF field every signed-in post carries (dashboard/session checks it). */
export function Csrf() {
  const { user } = useUi();
  return user ? <input type="hidden" name="csrf" value={user.csrf} /> : null;
}

export function NoticeLine(props: { notice?: Notice }) {
  const { notice } = props;
  return notice ? (
    <p class={`flash ${notice.kind}`} role="status">
      {notice.kind === "error" ? (
        <ProblemText text={notice.text} slug={notice.slug} />
      ) : (
        notice.text
      )}
    </p>
  ) : null;
}

/** A GET form of filters above a table; its fields keep their values through the query string. */
export function FilterForm(props: { action: string; children: Child }) {
  const { t } = useUi();
  return (
    <form method="get" action={props.action} class="filters">
      {props.children}
      <div class="filter-actions">
        <button type="submit">{t("common.filter")}</button>
        <a class="button secondary" href={props.action}>
          {t("common.clear")}
        </a>
      </div>
    </form>
  );
}

/** A labelled filter field: a select of `options` or a text input. */
export function FilterField(props: {
  name: string;
  label: string;
  value?: string;
  options?: readonly { value: string; label: string }[];
  type?: "text" | "date" | "search";
}) {
  const id = `filter-${props.name}`;
  return (
    <div class="filter-field">
      <label for={id}>{props.label}</label>
      {props.options ? (
        <select id={id} name={props.name}>
          {props.options.map((o) => (
            <option value={o.value} selected={o.value === (props.value ?? "")}>
              {o.label}
            </option>
          ))}
        </select>
      ) : (
        <input id={id} name={props.name} type={props.type ?? "text"} value={props.value ?? ""} />
      )}
    </div>
  );
}

/** A table that scrolls sideways on a narrow screen instead of widening the page. */
export function Table(props: { head: Child[]; children: Child; empty?: boolean }) {
  const { t } = useUi();
  return (
    <>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              {props.head.map((h) => (
                <th>{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>{props.children}</tbody>
        </table>
      </div>
      {props.empty ? <p class="muted">{t("common.none")}</p> : null}
    </>
  );
}

/**
 * Cursor paging over an API list: "next" follows the page's `nextCursor`; the API's cursors go
 * one way, so "back" returns to the first page (the browser's Back button goes one page back).
 * `query` holds the filters, kept on both links.
 */
export function Pager(props: {
  base: string;
  query?: Readonly<Record<string, string | undefined>>;
  cursor?: string;
  nextCursor: string | null;
}) {
  const { t } = useUi();
  const link = (cursor?: string) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(props.query ?? {})) {
      if (v) {
        params.set(k, v);
      }
    }
    if (cursor) {
      params.set("cursor", cursor);
    }
    const qs = params.toString();
    return qs ? `${props.base}?${qs}` : props.base;
  };
  if (!props.cursor && !props.nextCursor) {
    return null;
  }
  return (
    <nav class="pager">
      {props.cursor ? <a href={link()}>{t("common.first")}</a> : <span />}
      {props.nextCursor ? (
        <a rel="next" href={link(props.nextCursor)}>
          {t("common.next")}
        </a>
      ) : null}
    </nav>
  );
}

/**
 * A labelled form field with its error: `errors` are a refused form's field errors keyed by the
 * problem+json pointer's field (`fieldErrorsOf` in forms.ts), so the API's and the page's
 * messages are the same.
 */
export function Field(props: {
  name: string;
  label: string;
  errors?: FieldErrors;
  value?: string;
  type?: string;
  required?: boolean;
  multiline?: boolean;
  rows?: number;
  placeholder?: string;
  minlength?: number;
  maxlength?: number;
  hint?: string;
  children?: Child;
}) {
  const error = props.errors?.[props.name];
  const id = `field-${props.name}`;
  const described = [props.hint ? `${id}-hint` : "", error ? `${id}-error` : ""]
    .filter(Boolean)
    .join(" ");
  const common = {
    id,
    name: props.name,
    required: props.required,
    placeholder: props.placeholder,
    minlength: props.minlength,
    maxlength: props.maxlength,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": described || undefined,
  };
  return (
    <div class={error ? "field has-error" : "field"}>
      <label for={id}>{props.label}</label>
      {props.children ??
        (props.multiline ? (
          <textarea {...common} rows={props.rows ?? 3}>
            {props.value ?? ""}
          </textarea>
        ) : (
          <input {...common} type={props.type ?? "text"} value={props.value ?? ""} />
        ))}
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      <FieldError error={error} id={`${id}-error`} />
    </div>
  );
}

/** A one-button post (with the CSRF field): an action that needs no confirmation. */
export function PostButton(props: { action: string; label: string; class?: string }) {
  return (
    <form method="post" action={props.action} class={props.class}>
      <Csrf />
      <button type="submit">{props.label}</button>
    </form>
  );
}

/** A labelled select of `options` with its error: the Field of a choice. */
export function SelectField(props: {
  name: string;
  label: string;
  options: readonly { value: string; label: string }[];
  value?: string;
  errors?: FieldErrors;
  hint?: string;
}) {
  return (
    <Field name={props.name} label={props.label} errors={props.errors} hint={props.hint}>
      <select id={`field-${props.name}`} name={props.name}>
        {props.options.map((o) => (
          <option value={o.value} selected={o.value === props.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

/**
 * A destructive action asked twice, without script: the button opens a disclosure saying what
 * will happen, whose own button posts `action` (with the CSRF token and `fields`).
 */
export function ConfirmAction(props: {
  action: string;
  label: string;
  question: string;
  fields?: Readonly<Record<string, string>>;
  children?: Child;
  /** Open as rendered: a refused confirmation shows its fields' errors. */
  open?: boolean;
}) {
  const { t } = useUi();
  return (
    <details class="confirm" open={props.open}>
      <summary class="button danger">{props.label}</summary>
      <div class="confirm-box" role="alertdialog" aria-label={t("common.confirm_title")}>
        <p>{props.question}</p>
        <form method="post" action={props.action}>
          <Csrf />
          {Object.entries(props.fields ?? {}).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          {props.children}
          <button type="submit" class="danger">
            {t("common.confirm")}
          </button>
        </form>
      </div>
    </details>
  );
}

/** A chart drawn by /dashboard/charts.js from its JSON (uPlot); the table fallback is `children`. */
export interface ChartData {
  kind: "line" | "bars";
  /** X values: Unix seconds (days, hours) for time series. */
  x: number[];
  series: { label: string; values: (number | null)[] }[];
  /** Y axis label. */
  yLabel?: string;
}

export function Chart(props: { data: ChartData; label: string; children?: Child }) {
  return (
    <figure class="chart" role="img" aria-label={props.label}>
      <div class="chart-canvas" data-chart={JSON.stringify(props.data)} />
      {props.children ? <figcaption>{props.children}</figcaption> : null}
    </figure>
  );
}
