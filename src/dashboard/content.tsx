/**
 * The content pages: templates (list, editor with variable hints and a live preview, versions),
 * signatures and the tenant's sensitive words (list, add, import a file, test a text).
 */

import {
  REVIEW_STATUSES,
  type ReviewStatus,
  TEMPLATE_KINDS,
  VARIABLE_TYPES,
  WORD_POLICIES,
} from "../domain/vocabulary";
import type { Screening, SensitiveHit } from "../services/content/sensitive-words";
import type { SignatureRecord } from "../services/content/signatures";
import type { TemplateRecord, TemplateVersionRow } from "../services/content/templates";
import type { SensitiveWordRow } from "../services/content/tenant-lexicon";
import {
  ConfirmAction,
  Csrf,
  Field,
  FilterField,
  FilterForm,
  NoticeLine,
  Pager,
  PostButton,
  SelectField,
  Table,
} from "./components";
import type { FieldErrors } from "./forms";
import { Layout } from "./layout";
import { type Notice, useUi } from "./ui";

/** The template editor's fields as typed (kept through a refused post). */
export interface TemplateDraft {
  name: string;
  kind: string;
  body: string;
  variables: { name: string; type: string; max_length: string }[];
}

/** Variable rows the editor shows: the declared ones and two blank ones (20 at most). */
const MAX_VARIABLES = 20;

/** Text with the screening's hits marked (offsets are UTF-16, as the screening gives them). */
export function Marked(props: { text: string; hits: readonly SensitiveHit[] }) {
  const parts: (string | ReturnType<typeof Mark>)[] = [];
  let at = 0;
  const hits = [...props.hits].sort((a, b) => a.start - b.start);
  for (const hit of hits) {
    if (hit.start < at) {
      continue;
    }
    parts.push(props.text.slice(at, hit.start));
    parts.push(<Mark hit={hit} text={props.text.slice(hit.start, hit.end)} />);
    at = hit.end;
  }
  parts.push(props.text.slice(at));
  return <pre class="text">{parts}</pre>;
}

function Mark(props: { hit: SensitiveHit; text: string }) {
  const { t } = useUi();
  return (
    <mark class={`hit ${props.hit.policy}`} title={t(`words.policy.${props.hit.policy}`)}>
      {props.text}
    </mark>
  );
}

function Hits(props: { screening: Screening }) {
  const { t } = useUi();
  const { screening } = props;
  return (
    <>
      <p>
        {t("words.verdict")}{" "}
        <span class={`pill verdict-${screening.verdict}`}>
          {t(`words.verdict.${screening.verdict}`)}
        </span>
      </p>
      {screening.hits.length > 0 ? (
        <Table head={[t("words.word"), t("words.policy"), t("words.source"), t("words.span")]}>
          {screening.hits.map((hit) => (
            <tr>
              <td>{hit.word}</td>
              <td>{t(`words.policy.${hit.policy}`)}</td>
              <td>{t(`words.source.${hit.source}`)}</td>
              <td class="mono">
                {hit.start}–{hit.end}
              </td>
            </tr>
          ))}
        </Table>
      ) : (
        <p class="muted">{t("words.no_hits")}</p>
      )}
    </>
  );
}

/** The preview under the editor (also the htmx fragment): sample values, hits marked. */
export function TemplatePreview(props: {
  text: string;
  screening: Screening;
  placeholders: readonly string[];
}) {
  const { t } = useUi();
  return (
    <div id="template-preview" class="preview" aria-live="polite">
      <h3>{t("templates.preview")}</h3>
      <Marked text={props.text} hits={props.screening.hits} />
      <p class="muted">
        {t("templates.preview_length", { count: Array.from(props.text).length })}
        {props.placeholders.length > 0
          ? ` · ${t("templates.placeholders", { list: props.placeholders.join(", ") })}`
          : ""}
      </p>
      <Hits screening={props.screening} />
    </div>
  );
}

function StatusPill(props: { status: ReviewStatus }) {
  const { t } = useUi();
  return <span class={`pill status-${props.status}`}>{t(`review.status.${props.status}`)}</span>;
}

export function TemplatesPage(props: {
  templates: TemplateRecord[];
  status?: string;
  kind?: string;
  cursor?: string;
  nextCursor: string | null;
  canWrite: boolean;
}) {
  const { t, fmt } = useUi();
  const all = { value: "", label: t("common.all") };
  return (
    <Layout title={t("templates.title")}>
      {props.canWrite ? (
        <p>
          <a class="button" href="/dashboard/templates/new">
            {t("templates.new")}
          </a>
        </p>
      ) : null}
      <FilterForm action="/dashboard/templates">
        <FilterField
          name="status"
          label={t("templates.status")}
          value={props.status}
          options={[
            all,
            ...REVIEW_STATUSES.map((s) => ({ value: s, label: t(`review.status.${s}`) })),
          ]}
        />
        <FilterField
          name="kind"
          label={t("templates.kind")}
          value={props.kind}
          options={[all, ...TEMPLATE_KINDS.map((k) => ({ value: k, label: k }))]}
        />
      </FilterForm>
      <Table
        head={[
          t("templates.name"),
          t("templates.kind"),
          t("templates.status"),
          t("templates.version"),
          t("templates.updated"),
        ]}
        empty={props.templates.length === 0}
      >
        {props.templates.map(({ template, latest }) => (
          <tr>
            <td>
              <a href={`/dashboard/templates/${template.id}`}>{template.name}</a>
            </td>
            <td>{template.kind}</td>
            <td>
              <StatusPill status={latest.status} />
            </td>
            <td>
              v{latest.version}
              {template.approvedVersion !== null
                ? ` · ${t("templates.serving_short", { version: template.approvedVersion })}`
                : ""}
            </td>
            <td>{fmt.dateTime(template.updatedAt)}</td>
          </tr>
        ))}
      </Table>
      <Pager
        base="/dashboard/templates"
        query={{ status: props.status, kind: props.kind }}
        cursor={props.cursor}
        nextCursor={props.nextCursor}
      />
    </Layout>
  );
}

function VariableRows(props: { draft: TemplateDraft; errors: FieldErrors }) {
  const { t } = useUi();
  const rows = [...props.draft.variables];
  while (rows.length < Math.min(MAX_VARIABLES, props.draft.variables.length + 2)) {
    rows.push({ name: "", type: "string", max_length: "20" });
  }
  return (
    <fieldset class="variables">
      <legend>{t("templates.variables")}</legend>
      <p class="hint">{t("templates.variables_hint")}</p>
      {rows.map((row, i) => (
        <div class="variable-row">
          <Field
            name={`variables.${i}.name`}
            label={t("templates.variable_name")}
            value={row.name}
            errors={props.errors}
            maxlength={50}
          />
          <SelectField
            name={`variables.${i}.type`}
            label={t("templates.variable_type")}
            value={row.type}
            options={VARIABLE_TYPES.map((type) => ({
              value: type,
              label: t(`templates.type.${type}`),
            }))}
          />
          <Field
            name={`variables.${i}.max_length`}
            label={t("templates.variable_max")}
            value={row.max_length}
            type="number"
            errors={props.errors}
          />
        </div>
      ))}
    </fieldset>
  );
}

/** The editor: a new template (no `record`) or the latest version of one. */
export function TemplateEditorPage(props: {
  record?: TemplateRecord;
  versions?: TemplateVersionRow[];
  draft: TemplateDraft;
  errors: FieldErrors;
  notice?: Notice;
  canWrite: boolean;
  preview: { text: string; screening: Screening; placeholders: string[] };
}) {
  const { t, fmt } = useUi();
  const { record, draft } = props;
  const latest = record?.latest;
  const action = record ? `/dashboard/templates/${record.template.id}` : "/dashboard/templates";
  const locked = latest?.status === "pending_review";
  const submittable = latest && (latest.status === "draft" || latest.status === "rejected");
  return (
    <Layout title={record ? record.template.name : t("templates.new")}>
      <NoticeLine notice={props.notice} />
      {record && latest ? (
        <p>
          <StatusPill status={latest.status} /> <span class="mono muted">{record.template.id}</span>{" "}
          v{latest.version}
          {record.template.approvedVersion !== null
            ? ` · ${t("reviews.serving", { version: record.template.approvedVersion })}`
            : ""}
        </p>
      ) : null}
      {latest?.reviewReason ? (
        <p class={latest.status === "rejected" ? "flash error" : "muted"}>
          {t("templates.review_reason", { reason: latest.reviewReason })}
        </p>
      ) : null}
      {props.canWrite && submittable && record ? (
        <PostButton action={`${action}/submit`} label={t("templates.submit")} class="inline" />
      ) : null}
      <div class="editor">
        {props.canWrite && !locked ? (
          <form
            method="post"
            action={action}
            class="card"
            hx-post="/dashboard/templates/preview"
            hx-trigger="input delay:400ms"
            hx-target="#template-preview"
            hx-swap="outerHTML"
          >
            <Csrf />
            {Object.keys(props.errors).length > 0 ? (
              <p class="flash error">{t("common.form_errors")}</p>
            ) : null}
            <Field
              name="name"
              label={t("templates.name")}
              value={draft.name}
              errors={props.errors}
              required
              maxlength={100}
            />
            <SelectField
              name="kind"
              label={t("templates.kind")}
              value={draft.kind}
              options={TEMPLATE_KINDS.map((k) => ({ value: k, label: k }))}
              errors={props.errors}
            />
            <Field
              name="body"
              label={t("templates.body")}
              value={draft.body}
              errors={props.errors}
              multiline
              rows={5}
              required
              maxlength={1000}
              hint={t("templates.body_hint")}
            />
            <VariableRows draft={draft} errors={props.errors} />
            <button type="submit">{record ? t("templates.save") : t("templates.create")}</button>
          </form>
        ) : (
          <div class="card">
            {locked ? <p class="muted">{t("templates.locked")}</p> : null}
            <pre class="text">{draft.body}</pre>
            <ul>
              {(latest?.variables ?? []).map((v) => (
                <li>
                  {t("reviews.variable", {
                    name: v.name,
                    type: t(`templates.type.${v.type}`),
                    max: v.maxLength,
                  })}
                </li>
              ))}
            </ul>
          </div>
        )}
        <div class="card">
          <TemplatePreview {...props.preview} />
        </div>
      </div>
      {props.versions && props.versions.length > 0 ? (
        <>
          <h2>{t("templates.versions")}</h2>
          <Table
            head={[
              t("templates.version"),
              t("templates.status"),
              t("templates.body"),
              t("templates.submitted"),
              t("templates.reviewed"),
            ]}
          >
            {props.versions.map((v) => (
              <tr>
                <td>
                  v{v.version}{" "}
                  {record?.template.approvedVersion === v.version ? (
                    <span class="pill verdict-allow">{t("templates.serving_now")}</span>
                  ) : null}
                </td>
                <td>
                  <StatusPill status={v.status} />
                </td>
                <td class="text">{v.body}</td>
                <td>{v.submittedAt ? fmt.dateTime(v.submittedAt) : t("common.dash")}</td>
                <td>{v.reviewedAt ? fmt.dateTime(v.reviewedAt) : t("common.dash")}</td>
              </tr>
            ))}
          </Table>
        </>
      ) : null}
      {record && props.canWrite ? (
        <ConfirmAction
          action={`${action}/delete`}
          label={t("templates.delete")}
          question={t("templates.confirm_delete", { name: record.template.name })}
        />
      ) : null}
    </Layout>
  );
}

export function SignaturesPage(props: {
  signatures: SignatureRecord[];
  status?: string;
  cursor?: string;
  nextCursor: string | null;
  canWrite: boolean;
  draftName?: string;
  errors: FieldErrors;
  notice?: Notice;
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("signatures.title")}>
      <NoticeLine notice={props.notice} />
      {props.canWrite ? (
        <form method="post" action="/dashboard/signatures" class="card narrow">
          <Csrf />
          <Field
            name="name"
            label={t("signatures.name")}
            value={props.draftName}
            errors={props.errors}
            required
            maxlength={20}
            hint={t("signatures.name_hint")}
          />
          <button type="submit">{t("signatures.create")}</button>
        </form>
      ) : null}
      <FilterForm action="/dashboard/signatures">
        <FilterField
          name="status"
          label={t("templates.status")}
          value={props.status}
          options={[
            { value: "", label: t("common.all") },
            ...REVIEW_STATUSES.map((s) => ({ value: s, label: t(`review.status.${s}`) })),
          ]}
        />
      </FilterForm>
      <Table
        head={[
          t("signatures.name"),
          t("templates.status"),
          t("signatures.default"),
          t("templates.updated"),
          t("common.actions"),
        ]}
        empty={props.signatures.length === 0}
      >
        {props.signatures.map(({ row, isDefault }) => (
          <tr>
            <td>
              【{row.name}】 <span class="mono muted">{row.id}</span>
              {row.reviewReason ? <div class="muted">{row.reviewReason}</div> : null}
            </td>
            <td>
              <StatusPill status={row.status} />
            </td>
            <td>{isDefault ? t("signatures.is_default") : t("common.dash")}</td>
            <td>{fmt.dateTime(row.updatedAt)}</td>
            <td>
              {props.canWrite && (row.status === "draft" || row.status === "rejected") ? (
                <PostButton
                  action={`/dashboard/signatures/${row.id}/submit`}
                  label={t("templates.submit")}
                />
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
      <Pager
        base="/dashboard/signatures"
        query={{ status: props.status }}
        cursor={props.cursor}
        nextCursor={props.nextCursor}
      />
    </Layout>
  );
}

export function SensitiveWordsPage(props: {
  words: SensitiveWordRow[];
  cursor?: string;
  nextCursor: string | null;
  canWrite: boolean;
  draft?: { word: string; policy: string };
  errors: FieldErrors;
  notice?: Notice;
  imported?: { imported: number; updated: number; unchanged: number; rejected: string[] };
  check?: { text: string; screening?: Screening };
}) {
  const { t, fmt } = useUi();
  const policies = WORD_POLICIES.map((p) => ({ value: p, label: t(`words.policy.${p}`) }));
  const PolicySelect = (p: { id: string; value?: string }) => (
    <select id={p.id} name="policy">
      {policies.map((o) => (
        <option value={o.value} selected={o.value === (p.value ?? "block")}>
          {o.label}
        </option>
      ))}
    </select>
  );
  return (
    <Layout title={t("words.title")}>
      <NoticeLine notice={props.notice} />
      {props.imported ? (
        <div class="card">
          <p>
            {t("words.import_result", {
              imported: props.imported.imported,
              updated: props.imported.updated,
              unchanged: props.imported.unchanged,
              rejected: props.imported.rejected.length,
            })}
          </p>
          {props.imported.rejected.length > 0 ? (
            <ul class="error">
              {props.imported.rejected.map((r) => (
                <li>{r}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <div class="editor">
        <form method="post" action="/dashboard/sensitive-words/check" class="card">
          <Csrf />
          <h2>{t("words.test")}</h2>
          <Field
            name="text"
            label={t("words.text")}
            value={props.check?.text}
            errors={props.errors}
            multiline
            rows={4}
            required
            maxlength={10000}
          />
          <button type="submit">{t("words.check")}</button>
          {props.check?.screening ? (
            <div class="preview">
              <Marked text={props.check.text} hits={props.check.screening.hits} />
              <Hits screening={props.check.screening} />
            </div>
          ) : null}
        </form>
        {props.canWrite ? (
          <div>
            <form method="post" action="/dashboard/sensitive-words" class="card">
              <Csrf />
              <h2>{t("words.add")}</h2>
              <Field
                name="word"
                label={t("words.word")}
                value={props.draft?.word}
                errors={props.errors}
                required
                maxlength={50}
              />
              <Field name="policy" label={t("words.policy")}>
                <PolicySelect id="field-policy" value={props.draft?.policy} />
              </Field>
              <button type="submit">{t("words.add")}</button>
            </form>
            <form
              method="post"
              action="/dashboard/sensitive-words/import"
              enctype="multipart/form-data"
              class="card"
            >
              <Csrf />
              <h2>{t("words.import")}</h2>
              <Field
                name="file"
                label={t("words.file")}
                errors={props.errors}
                hint={t("words.file_hint")}
              >
                <input
                  id="field-file"
                  name="file"
                  type="file"
                  accept=".txt,.csv,text/plain"
                  required
                />
              </Field>
              <Field name="import_policy" label={t("words.default_policy")}>
                <select id="field-import_policy" name="policy">
                  {policies.map((o) => (
                    <option value={o.value}>{o.label}</option>
                  ))}
                </select>
              </Field>
              <button type="submit">{t("words.import")}</button>
            </form>
          </div>
        ) : null}
      </div>
      <h2>{t("words.yours")}</h2>
      <Table
        head={[t("words.word"), t("words.policy"), t("templates.updated")]}
        empty={props.words.length === 0}
      >
        {props.words.map((w) => (
          <tr>
            <td>{w.word}</td>
            <td>{t(`words.policy.${w.policy}`)}</td>
            <td>{fmt.dateTime(w.createdAt)}</td>
          </tr>
        ))}
      </Table>
      <Pager
        base="/dashboard/sensitive-words"
        cursor={props.cursor}
        nextCursor={props.nextCursor}
      />
    </Layout>
  );
}
