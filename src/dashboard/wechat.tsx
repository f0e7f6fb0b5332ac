/**
 * The dashboard's WeChat pages: the accounts, an account's detail, its auto-reply rules and its
 * custom menu. The menu editor is one plain form of fixed slots (3 top buttons × 5 sub-buttons,
 * WeChat's limits) that publishes without script; /dashboard/wechat-menu.js only enhances it
 * (live byte counts, add, remove, reorder).
 */

import { AUTO_REPLY_MATCHES } from "../domain/vocabulary";
import { MEDIA_TYPES } from "../domain/wechat-media";
import type { Menu, MenuButtonFields } from "../domain/wechat-menu";
import {
  MAX_SUB_BUTTONS,
  MAX_SUB_NAME_BYTES,
  MAX_TOP_BUTTONS,
  MAX_TOP_NAME_BYTES,
  MENU_BUTTON_TYPES,
} from "../domain/wechat-menu";
import { MAX_EXPIRE_SECONDS, MAX_SCENE_LENGTH, qrImageUrl } from "../domain/wechat-qrcodes";
import type { AppBinding } from "../services/contacts/bindings";
import type { WebhookEndpointRow } from "../services/webhooks/endpoints";
import type { KeywordQueryRow } from "../services/webhooks/query-log";
import type { WeChatAppRow } from "../services/wechat/apps";
import type { AutoReplyRow } from "../services/wechat/auto-replies";
import type { BroadcastView } from "../services/wechat/broadcasts";
import type { FollowerRow, Tag } from "../services/wechat/followers";
import type { MediaRow } from "../services/wechat/media";
import type { QrCodeRow } from "../services/wechat/qrcodes";
import type { AccountTemplate } from "../services/wechat/template-library";
import {
  ConfirmAction,
  Csrf,
  Field,
  FieldError,
  FilterField,
  FilterForm,
  type Notice,
  NoticeLine,
  Pager,
  SelectField,
  Table,
} from "./components";
import type { FieldErrors } from "./forms";
import { Layout } from "./layout";
import { useUi } from "./ui";

export const MENU_SCRIPT = "/dashboard/wechat-menu.js";

/** The field a button type keeps its main value in (`appid`/`pagepath` have their own inputs). */
export function primaryFieldOf(type: string): keyof MenuButtonFields | undefined {
  const needs = Object.hasOwn(MENU_BUTTON_TYPES, type) ? MENU_BUTTON_TYPES[type] : undefined;
  return needs?.find((f) => f !== "appid" && f !== "pagepath");
}

function AppTabs(props: {
  appId: string;
  current:
    | "detail"
    | "menu"
    | "auto-replies"
    | "followers"
    | "bindings"
    | "qrcodes"
    | "broadcasts"
    | "media";
}) {
  const { t } = useUi();
  const base = `/dashboard/wechat/${props.appId}`;
  const tabs = [
    { key: "detail", href: base, label: t("wechat.tab.detail") },
    { key: "menu", href: `${base}/menu`, label: t("wechat.tab.menu") },
    {
      key: "auto-replies",
      href: `${base}/auto-replies`,
      label: t("wechat.tab.auto_replies"),
    },
    { key: "followers", href: `${base}/followers`, label: t("wechat.tab.followers") },
    { key: "bindings", href: `${base}/bindings`, label: t("wechat.tab.bindings") },
    { key: "qrcodes", href: `${base}/qrcodes`, label: t("wechat.tab.qrcodes") },
    { key: "broadcasts", href: `${base}/broadcasts`, label: t("wechat.tab.broadcasts") },
    { key: "media", href: `${base}/media`, label: t("wechat.tab.media") },
  ] as const;
  return (
    <nav class="tabs" aria-label={t("wechat.tabs")}>
      <a href="/dashboard/wechat">{t("wechat.all_accounts")}</a>
      {tabs.map((tab) => (
        <a href={tab.href} aria-current={tab.key === props.current ? "page" : undefined}>
          {tab.label}
        </a>
      ))}
    </nav>
  );
}

export function WeChatAppsPage(props: { apps: readonly WeChatAppRow[] }) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("wechat.apps.title")}>
      <section class="card">
        <p class="muted">{t("wechat.apps.intro")}</p>
        <Table
          head={[
            t("wechat.app_id"),
            t("wechat.account_type"),
            t("wechat.mode"),
            t("wechat.verified"),
            t("wechat.created"),
          ]}
          empty={props.apps.length === 0}
        >
          {props.apps.map((app) => (
            <tr>
              <td>
                <a class="mono" href={`/dashboard/wechat/${app.appId}`}>
                  {app.appId}
                </a>
              </td>
              <td>{t(`wechat.account_type.${app.accountType}`)}</td>
              <td>{t(`wechat.mode.${app.mode}`)}</td>
              <td>{app.verified ? t("wechat.yes") : t("wechat.no")}</td>
              <td>{fmt.dateTime(app.createdAt)}</td>
            </tr>
          ))}
        </Table>
      </section>
    </Layout>
  );
}

export function WeChatAppPage(props: { app: WeChatAppRow; webhookUrl: string }) {
  const { t, fmt } = useUi();
  const { app } = props;
  return (
    <Layout title={t("wechat.app.title", { id: app.appId })}>
      <AppTabs appId={app.appId} current="detail" />
      <section class="card">
        <dl class="facts">
          <dt>{t("wechat.app_id")}</dt>
          <dd class="mono">{app.appId}</dd>
          <dt>{t("wechat.account_type")}</dt>
          <dd>{t(`wechat.account_type.${app.accountType}`)}</dd>
          <dt>{t("wechat.mode")}</dt>
          <dd>{t(`wechat.mode.${app.mode}`)}</dd>
          <dt>{t("wechat.verified")}</dt>
          <dd>{app.verified ? t("wechat.yes") : t("wechat.no")}</dd>
          <dt>{t("wechat.webhook_url")}</dt>
          <dd>
            <code>{props.webhookUrl}</code>
            <p class="hint">{t("wechat.webhook_url_hint")}</p>
          </dd>
          <dt>{t("wechat.api_base_url")}</dt>
          <dd class="mono">{app.apiBaseUrl ?? t("wechat.api_base_default")}</dd>
          <dt>{t("wechat.created")}</dt>
          <dd>{fmt.dateTime(app.createdAt)}</dd>
          <dt>{t("wechat.updated")}</dt>
          <dd>{fmt.dateTime(app.updatedAt)}</dd>
        </dl>
      </section>
    </Layout>
  );
}

/** What the reply of a rule says, in one line. */
function replySummary(reply: Record<string, unknown>): string {
  if (reply.type === "text" && typeof reply.content === "string") {
    return reply.content;
  }
  if (reply.type === "news" && Array.isArray(reply.articles)) {
    return reply.articles
      .map((a) => (a && typeof a === "object" && "title" in a ? String(a.title) : ""))
      .join(" · ");
  }
  if (reply.type === "query") {
    return String(reply.endpoint_id ?? "");
  }
  return JSON.stringify(reply);
}

/** The replies the API takes: a text, news (1 to 8 articles), or a query to your endpoint. */
export const REPLY_KINDS = ["text", "news", "query"] as const;
/** The news article slots the form offers (WeChat takes 8; a reply rarely has more than 3). */
export const NEWS_SLOTS = 3;

export interface AutoReplyDraft {
  match: string;
  keyword: string;
  kind: (typeof REPLY_KINDS)[number];
  content: string;
  articles: { title: string; description: string; url: string; pic_url: string }[];
  endpointId: string;
  priority: string;
}

/** One news article's fields (`reply.articles.N.…`, the API's pointers). */
function ArticleFields(props: { index: number; draft: AutoReplyDraft; errors?: FieldErrors }) {
  const { t } = useUi();
  const a = props.draft.articles[props.index];
  const at = `reply.articles.${props.index}`;
  const url = (field: "url" | "pic_url", label: string, value?: string) => (
    <Field
      name={`${at}.${field}`}
      label={label}
      type="url"
      value={value}
      placeholder="https://"
      errors={props.errors}
    />
  );
  return (
    <fieldset class="news-article">
      <legend>{t("wechat.auto_replies.article", { n: props.index + 1 })}</legend>
      <Field
        name={`${at}.title`}
        label={t("wechat.auto_replies.article_title")}
        value={a?.title}
        maxlength={64}
        errors={props.errors}
      />
      <Field
        name={`${at}.description`}
        label={t("wechat.auto_replies.article_description")}
        value={a?.description}
        maxlength={120}
        errors={props.errors}
      />
      {url("url", t("wechat.auto_replies.article_url"), a?.url)}
      {url("pic_url", t("wechat.auto_replies.article_pic_url"), a?.pic_url)}
    </fieldset>
  );
}

export function AutoRepliesPage(props: {
  appId: string;
  rules: readonly AutoReplyRow[];
  /** The tenant's webhook endpoints, one of which a query rule asks. */
  endpoints: readonly WebhookEndpointRow[];
  canWrite: boolean;
  notice?: Notice;
  draft?: AutoReplyDraft;
  errors?: FieldErrors;
}) {
  const { t } = useUi();
  const draft: AutoReplyDraft = props.draft ?? {
    match: "exact",
    keyword: "",
    kind: "text",
    content: "",
    articles: [],
    endpointId: "",
    priority: "100",
  };
  const base = `/dashboard/wechat/${props.appId}/auto-replies`;
  return (
    <Layout title={t("wechat.auto_replies.title", { id: props.appId })}>
      <AppTabs appId={props.appId} current="auto-replies" />
      <NoticeLine notice={props.notice} />
      <section class="card">
        <p class="muted">{t("wechat.auto_replies.intro")}</p>
        <Table
          head={[
            t("wechat.auto_replies.priority"),
            t("wechat.auto_replies.match"),
            t("wechat.auto_replies.keyword"),
            t("wechat.auto_replies.reply"),
            t("common.actions"),
          ]}
          empty={props.rules.length === 0}
        >
          {props.rules.map((rule) => (
            <tr>
              <td>{rule.priority}</td>
              <td>{t(`wechat.match.${rule.match}`)}</td>
              <td>{rule.keyword ?? t("common.dash")}</td>
              <td>
                <span class="pill">
                  {t(
                    `wechat.auto_replies.kind.${String(rule.reply.type)}` as "wechat.auto_replies.kind.text",
                  )}
                </span>{" "}
                {rule.reply.type === "query"
                  ? (props.endpoints.find((e) => e.id === rule.reply.endpoint_id)?.url ??
                    replySummary(rule.reply))
                  : replySummary(rule.reply)}
                {rule.reply.type === "query" ? (
                  <p>
                    <a href={`${base}/${rule.id}`}>{t("wechat.auto_replies.queries_link")}</a>
                  </p>
                ) : null}
              </td>
              <td>
                {props.canWrite ? (
                  <ConfirmAction
                    action={`${base}/${rule.id}/delete`}
                    label={t("wechat.auto_replies.delete")}
                    question={t("wechat.auto_replies.delete_question", {
                      keyword: rule.keyword ?? t(`wechat.match.${rule.match}`),
                    })}
                  />
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      </section>
      {props.canWrite ? (
        <section class="card narrow">
          <h2>{t("wechat.auto_replies.new")}</h2>
          <form method="post" action={base}>
            <Csrf />
            <SelectField
              name="match"
              label={t("wechat.auto_replies.match")}
              value={draft.match}
              options={AUTO_REPLY_MATCHES.map((m) => ({ value: m, label: t(`wechat.match.${m}`) }))}
              errors={props.errors}
            />
            <Field
              name="keyword"
              label={t("wechat.auto_replies.keyword")}
              value={draft.keyword}
              maxlength={64}
              hint={t("wechat.auto_replies.keyword_hint")}
              errors={props.errors}
            />
            <SelectField
              name="reply.type"
              label={t("wechat.auto_replies.reply_kind")}
              value={draft.kind}
              options={REPLY_KINDS.map((k) => ({
                value: k,
                label: t(`wechat.auto_replies.kind.${k}`),
              }))}
              hint={t("wechat.auto_replies.reply_kind_hint")}
              errors={props.errors}
            />
            <fieldset class="reply-kind" data-kind="text">
              <legend>{t("wechat.auto_replies.kind.text")}</legend>
              <Field
                name="reply.content"
                label={t("wechat.auto_replies.text")}
                value={draft.content}
                multiline
                maxlength={2000}
                errors={props.errors}
              />
            </fieldset>
            <fieldset class="reply-kind" data-kind="news">
              <legend>{t("wechat.auto_replies.kind.news")}</legend>
              <ArticleFields index={0} draft={draft} errors={props.errors} />
              {/* The further articles open on demand (and stay open when filled in). */}
              <details
                class="more-articles"
                open={draft.articles.slice(1).some((a) => a.title || a.url || a.description)}
              >
                <summary>{t("wechat.auto_replies.more_articles", { n: NEWS_SLOTS })}</summary>
                {Array.from({ length: NEWS_SLOTS - 1 }, (_, i) => (
                  <ArticleFields index={i + 1} draft={draft} errors={props.errors} />
                ))}
              </details>
            </fieldset>
            <fieldset class="reply-kind" data-kind="query">
              <legend>{t("wechat.auto_replies.kind.query")}</legend>
              <SelectField
                name="reply.endpoint_id"
                label={t("wechat.auto_replies.endpoint")}
                value={draft.endpointId}
                options={[
                  { value: "", label: t("common.dash") },
                  ...props.endpoints.map((e) => ({ value: e.id, label: e.url })),
                ]}
                hint={
                  props.endpoints.length === 0
                    ? t("wechat.auto_replies.no_endpoints")
                    : t("wechat.auto_replies.endpoint_hint")
                }
                errors={props.errors}
              />
            </fieldset>
            <Field
              name="priority"
              label={t("wechat.auto_replies.priority")}
              type="number"
              value={draft.priority}
              hint={t("wechat.auto_replies.priority_hint")}
              errors={props.errors}
            />
            <button type="submit">{t("wechat.auto_replies.create")}</button>
          </form>
        </section>
      ) : null}
    </Layout>
  );
}

/**
 * One auto-reply rule: what it matches and answers and, for a rule that asks the tenant's
 * endpoint, the record of its queries (GET /v1/auto-replies/{id}/queries), newest first.
 */
export function AutoReplyRulePage(props: {
  appId: string;
  rule: AutoReplyRow;
  /** The rule's endpoint's URL, when it asks one that still exists. */
  endpointUrl?: string;
  queries: readonly KeywordQueryRow[];
  cursor?: string;
  nextCursor: string | null;
}) {
  const { t, fmt } = useUi();
  const { rule } = props;
  const base = `/dashboard/wechat/${props.appId}/auto-replies`;
  return (
    <Layout title={t("wechat.auto_replies.rule_title", { keyword: rule.keyword ?? rule.id })}>
      <AppTabs appId={props.appId} current="auto-replies" />
      <section class="card">
        <p>
          <a href={base}>{t("wechat.auto_replies.back")}</a>
        </p>
        <dl class="facts">
          <dt>{t("wechat.auto_replies.match")}</dt>
          <dd>{t(`wechat.match.${rule.match}`)}</dd>
          <dt>{t("wechat.auto_replies.keyword")}</dt>
          <dd>{rule.keyword ?? t("common.dash")}</dd>
          <dt>{t("wechat.auto_replies.reply")}</dt>
          <dd>
            {t(
              `wechat.auto_replies.kind.${String(rule.reply.type)}` as "wechat.auto_replies.kind.text",
            )}{" "}
            {rule.reply.type === "query"
              ? (props.endpointUrl ?? replySummary(rule.reply))
              : replySummary(rule.reply)}
          </dd>
          <dt>{t("wechat.auto_replies.priority")}</dt>
          <dd>{rule.priority}</dd>
        </dl>
      </section>
      {rule.reply.type === "query" ? (
        <section class="card" data-testid="rule-queries">
          <h2>{t("wechat.auto_replies.queries")}</h2>
          <p class="hint">{t("wechat.auto_replies.queries_intro")}</p>
          <Table
            head={[
              t("wechat.auto_replies.query_when"),
              t("wechat.auto_replies.query_status"),
              t("wechat.auto_replies.query_latency"),
              t("wechat.auto_replies.query_reason"),
            ]}
            empty={props.queries.length === 0}
          >
            {props.queries.map((q) => (
              <tr>
                <td>{fmt.dateTime(q.askedAt)}</td>
                <td>
                  <span class={`pill query-${q.status}`}>
                    {t(`wechat.auto_replies.query_status.${q.status}`)}
                  </span>
                </td>
                <td>{t("wechat.auto_replies.query_ms", { ms: fmt.number(q.latencyMs) })}</td>
                <td>{q.reason ?? t("common.dash")}</td>
              </tr>
            ))}
          </Table>
          <Pager base={`${base}/${rule.id}`} cursor={props.cursor} nextCursor={props.nextCursor} />
        </section>
      ) : null}
    </Layout>
  );
}

/** A slot's values: a published button, or empty. */
interface SlotValues {
  name: string;
  type: string;
  value: string;
  appid: string;
  pagepath: string;
}

function slotOf(button: MenuButtonFields | undefined): SlotValues {
  const type = button?.type ?? "";
  const field = primaryFieldOf(type);
  return {
    name: button?.name ?? "",
    type,
    value: (field && button?.[field]) || "",
    appid: button?.appid ?? "",
    pagepath: button?.pagepath ?? "",
  };
}

function ButtonFields(props: {
  prefix: string;
  values: SlotValues;
  maxBytes: number;
  errors?: FieldErrors;
}) {
  const { t } = useUi();
  const { prefix, values, errors } = props;
  const err = (field: string) => errors?.[`${prefix}.${field}`];
  const one = (field: string, label: string, value: string, extra?: object) => {
    const id = `f-${prefix}.${field}`;
    const error = err(field);
    return (
      <div class={error ? "field has-error" : "field"} data-field={field}>
        <label for={id}>{label}</label>
        <input
          id={id}
          name={`${prefix}.${field}`}
          value={value}
          aria-invalid={error ? "true" : undefined}
          {...extra}
        />
        <FieldError error={error} />
      </div>
    );
  };
  const typeError = err("type");
  return (
    <div class="menu-fields">
      {one("name", t("wechat.menu.name"), values.name, {
        "data-max-bytes": String(props.maxBytes),
      })}
      <p class="hint" data-bytes-for={`${prefix}.name`}>
        {t("wechat.menu.name_limit", { max: props.maxBytes })}
      </p>
      <div class={typeError ? "field has-error" : "field"} data-field="type">
        <label for={`f-${prefix}.type`}>{t("wechat.menu.type")}</label>
        <select id={`f-${prefix}.type`} name={`${prefix}.type`}>
          <option value="" selected={values.type === ""}>
            {t("wechat.menu.type_none")}
          </option>
          {Object.keys(MENU_BUTTON_TYPES).map((type) => (
            <option value={type} selected={type === values.type}>
              {t(`wechat.menu.type.${type}` as "wechat.menu.type.click")}
            </option>
          ))}
        </select>
        <FieldError error={typeError} />
      </div>
      {one("value", t("wechat.menu.value"), values.value, {
        placeholder: t("wechat.menu.value_hint"),
      })}
      {one("appid", t("wechat.menu.appid"), values.appid)}
      {one("pagepath", t("wechat.menu.pagepath"), values.pagepath)}
    </div>
  );
}

/** The published menu as a phone shows it: the top buttons, each with its sub-buttons. */
function MenuPreview(props: { menu: Menu | null }) {
  const { t } = useUi();
  if (!props.menu) {
    return <p class="muted">{t("wechat.menu.unreadable")}</p>;
  }
  if (props.menu.button.length === 0) {
    return <p class="muted">{t("wechat.menu.none_published")}</p>;
  }
  return (
    <ol class="menu-preview" data-testid="published-menu">
      {props.menu.button.map((b) => (
        <li>
          <strong>{b.name}</strong>
          {b.sub_button && b.sub_button.length > 0 ? (
            <ol>
              {b.sub_button.map((s) => (
                <li>
                  {s.name} <span class="muted">({s.type})</span>
                </li>
              ))}
            </ol>
          ) : (
            <span class="muted"> ({b.type})</span>
          )}
        </li>
      ))}
    </ol>
  );
}

export function MenuPage(props: {
  appId: string;
  /** The account's tags, for a conditional menu (empty when WeChat could not be asked). */
  tags: readonly Tag[];
  /** The tag a refused conditional menu was for. */
  tagId?: string;
  /** What WeChat has now; null when it could not be read. */
  published: Menu | null;
  /** What the form shows: a refused draft, else the published menu. */
  draft: Menu;
  canWrite: boolean;
  notice?: Notice;
  errors?: FieldErrors;
}) {
  const { t } = useUi();
  const slots = Array.from({ length: MAX_TOP_BUTTONS }, (_, i) => props.draft.button[i]);
  const menuError = props.errors?.button;
  return (
    <Layout title={t("wechat.menu.title", { id: props.appId })}>
      <AppTabs appId={props.appId} current="menu" />
      <NoticeLine notice={props.notice} />
      <section class="card">
        <h2>{t("wechat.menu.published")}</h2>
        <MenuPreview menu={props.published} />
        {props.canWrite && props.published && props.published.button.length > 0 ? (
          <ConfirmAction
            action={`/dashboard/wechat/${props.appId}/menu/delete`}
            label={t("wechat.menu.delete")}
            question={t("wechat.menu.delete_question")}
          />
        ) : null}
      </section>
      {props.canWrite ? (
        <section class="card">
          <h2>{t("wechat.menu.editor")}</h2>
          <p class="hint">
            {t("wechat.menu.limits", {
              top: MAX_TOP_BUTTONS,
              sub: MAX_SUB_BUTTONS,
              topBytes: MAX_TOP_NAME_BYTES,
              subBytes: MAX_SUB_NAME_BYTES,
            })}
          </p>
          <FieldError error={menuError} />
          <form
            method="post"
            action={`/dashboard/wechat/${props.appId}/menu`}
            class="menu-editor"
            data-max-top={String(MAX_TOP_BUTTONS)}
            data-max-sub={String(MAX_SUB_BUTTONS)}
            data-label-up={t("wechat.menu.up")}
            data-label-down={t("wechat.menu.down")}
            data-label-remove={t("wechat.menu.remove")}
            data-label-add-top={t("wechat.menu.add_top")}
            data-label-add-sub={t("wechat.menu.add_sub")}
            data-label-bytes={t("wechat.menu.bytes")}
            data-label-count={t("wechat.menu.count")}
          >
            <Csrf />
            <SelectField
              name="tag_id"
              label={t("wechat.menu.target")}
              value={props.tagId ?? ""}
              options={[
                { value: "", label: t("wechat.menu.target_default") },
                ...props.tags.map((tag) => ({
                  value: String(tag.id),
                  label: t("wechat.menu.target_tag", { name: tag.name, id: tag.id }),
                })),
              ]}
              hint={t("wechat.menu.target_hint")}
              errors={props.errors}
            />
            <p class="menu-count" data-count="top" aria-live="polite" />
            <ol class="menu-slots">
              {slots.map((button, i) => {
                const prefix = `button.${i}`;
                const subs = Array.from(
                  { length: MAX_SUB_BUTTONS },
                  (_, j) => button?.sub_button?.[j],
                );
                const subError = props.errors?.[`${prefix}.sub_button`];
                return (
                  <li class="menu-slot top" data-slot={prefix}>
                    <fieldset>
                      <legend>{t("wechat.menu.top_button", { n: i + 1 })}</legend>
                      <ButtonFields
                        prefix={prefix}
                        values={slotOf(button)}
                        maxBytes={MAX_TOP_NAME_BYTES}
                        errors={props.errors}
                      />
                      <p class="hint">{t("wechat.menu.subs_hint")}</p>
                      <FieldError error={subError} />
                      <p class="menu-count" data-count={prefix} aria-live="polite" />
                      <ol class="menu-slots sub">
                        {subs.map((sub, j) => (
                          <li class="menu-slot sub" data-slot={`${prefix}.sub_button.${j}`}>
                            <fieldset>
                              <legend>{t("wechat.menu.sub_button", { n: j + 1 })}</legend>
                              <ButtonFields
                                prefix={`${prefix}.sub_button.${j}`}
                                values={slotOf(sub)}
                                maxBytes={MAX_SUB_NAME_BYTES}
                                errors={props.errors}
                              />
                            </fieldset>
                          </li>
                        ))}
                      </ol>
                    </fieldset>
                  </li>
                );
              })}
            </ol>
            <button type="submit">{t("wechat.menu.publish")}</button>
          </form>
        </section>
      ) : null}
      {props.canWrite ? (
        <section class="card narrow">
          <h2>{t("wechat.menu.conditional_delete")}</h2>
          <p class="hint">{t("wechat.menu.conditional_hint")}</p>
          <ConfirmAction
            action={`/dashboard/wechat/${props.appId}/menu/conditional/delete`}
            label={t("wechat.menu.conditional_delete")}
            question={t("wechat.menu.conditional_question")}
            open={props.errors?.menu_id !== undefined}
          >
            <Field
              name="menu_id"
              label={t("wechat.menu.menu_id")}
              required
              maxlength={20}
              errors={props.errors}
            />
          </ConfirmAction>
        </section>
      ) : null}
      <script src={MENU_SCRIPT} defer />
    </Layout>
  );
}

export interface QrDraft {
  scene: string;
  temporary: boolean;
  expire: string;
}

export function QrCodesPage(props: {
  appId: string;
  codes: readonly QrCodeRow[];
  notice?: Notice;
  draft?: QrDraft;
  errors?: FieldErrors;
  /** The code just made: its image is shown large. */
  created?: QrCodeRow;
}) {
  const { t, fmt } = useUi();
  const draft = props.draft ?? { scene: "", temporary: true, expire: "604800" };
  return (
    <Layout title={t("wechat.qrcodes.title", { id: props.appId })}>
      <AppTabs appId={props.appId} current="qrcodes" />
      <NoticeLine notice={props.notice} />
      {props.created ? (
        <section class="card">
          <h2>{t("wechat.qrcodes.created", { scene: props.created.scene })}</h2>
          {/* The image is WeChat's (showqrcode); the policy loads no image from elsewhere. */}
          <p>
            <a href={qrImageUrl(props.created.ticket)} rel="noreferrer" target="_blank">
              {t("wechat.qrcodes.open_image")}
            </a>
          </p>
          <p>
            <code class="qr-url">{qrImageUrl(props.created.ticket)}</code>
          </p>
        </section>
      ) : null}
      <section class="card">
        <Table
          head={[
            t("wechat.qrcodes.scene"),
            t("wechat.qrcodes.kind"),
            t("wechat.qrcodes.expires"),
            t("wechat.qrcodes.action"),
            t("wechat.qrcodes.image"),
            t("wechat.created"),
          ]}
          empty={props.codes.length === 0}
        >
          {props.codes.map((code) => (
            <tr>
              <td>{code.scene}</td>
              <td>
                {code.temporary ? t("wechat.qrcodes.temporary") : t("wechat.qrcodes.permanent")}
              </td>
              <td>{code.expiresAt ? fmt.dateTime(code.expiresAt) : t("common.dash")}</td>
              <td>{code.action ? String(code.action.type ?? "") : t("common.dash")}</td>
              <td>
                <a href={qrImageUrl(code.ticket)} rel="noreferrer" target="_blank">
                  {t("wechat.qrcodes.open_image")}
                </a>
              </td>
              <td>{fmt.dateTime(code.createdAt)}</td>
            </tr>
          ))}
        </Table>
      </section>
      <section class="card narrow">
        <h2>{t("wechat.qrcodes.new")}</h2>
        <form method="post" action={`/dashboard/wechat/${props.appId}/qrcodes`}>
          <Csrf />
          <Field
            name="scene"
            label={t("wechat.qrcodes.scene")}
            value={draft.scene}
            required
            maxlength={MAX_SCENE_LENGTH}
            hint={t("wechat.qrcodes.scene_hint", { max: MAX_SCENE_LENGTH })}
            errors={props.errors}
          />
          <SelectField
            name="temporary"
            label={t("wechat.qrcodes.kind")}
            value={String(draft.temporary)}
            options={[
              { value: "true", label: t("wechat.qrcodes.temporary") },
              { value: "false", label: t("wechat.qrcodes.permanent") },
            ]}
            errors={props.errors}
          />
          <Field
            name="expire_seconds"
            label={t("wechat.qrcodes.expire_seconds")}
            type="number"
            value={draft.expire}
            hint={t("wechat.qrcodes.expire_hint", { max: MAX_EXPIRE_SECONDS })}
            errors={props.errors}
          />
          <button type="submit">{t("wechat.qrcodes.create")}</button>
        </form>
      </section>
    </Layout>
  );
}

export function FollowersPage(props: {
  appId: string;
  followers: readonly FollowerRow[];
  following?: string;
  cursor?: string;
  nextCursor: string | null;
  /** WeChat's tags; null when the role may not see them or WeChat could not be asked. */
  tags: readonly Tag[] | null;
  /** The first page of WeChat's blacklist; null when not shown. */
  blacklist: { total: number; openids: readonly string[] } | null;
  canManageTags: boolean;
  notice?: Notice;
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  const base = `/dashboard/wechat/${props.appId}/followers`;
  const tagsBase = `/dashboard/wechat/${props.appId}/tags`;
  const blacklistAction = `/dashboard/wechat/${props.appId}/blacklist`;
  return (
    <Layout title={t("wechat.followers.title", { id: props.appId })}>
      <AppTabs appId={props.appId} current="followers" />
      <NoticeLine notice={props.notice} />
      <section class="card">
        <FilterForm action={base}>
          <FilterField
            name="following"
            label={t("wechat.followers.following")}
            value={props.following}
            options={[
              { value: "", label: t("common.all") },
              { value: "true", label: t("wechat.followers.following_yes") },
              { value: "false", label: t("wechat.followers.following_no") },
            ]}
          />
        </FilterForm>
        <Table
          head={[
            t("wechat.followers.openid"),
            t("wechat.followers.remark"),
            t("wechat.followers.following"),
            t("wechat.followers.tags"),
            t("wechat.followers.subscribed"),
            t("wechat.followers.last_interaction"),
          ]}
          empty={props.followers.length === 0}
        >
          {props.followers.map((f) => (
            <tr>
              <td class="mono">{f.openid}</td>
              <td>
                {typeof f.info?.remark === "string" && f.info.remark
                  ? f.info.remark
                  : t("common.dash")}
              </td>
              <td>{f.following ? t("wechat.yes") : t("wechat.no")}</td>
              <td>{(f.tagIds ?? []).join(", ") || t("common.dash")}</td>
              <td>{f.subscribedAt ? fmt.dateTime(f.subscribedAt) : t("common.dash")}</td>
              <td>{f.lastInteractionAt ? fmt.dateTime(f.lastInteractionAt) : t("common.dash")}</td>
            </tr>
          ))}
        </Table>
        <Pager
          base={base}
          query={{ following: props.following }}
          cursor={props.cursor}
          nextCursor={props.nextCursor}
        />
      </section>
      {props.canManageTags ? (
        <section class="card">
          <h2>{t("wechat.tags.title")}</h2>
          {props.tags ? (
            <Table
              head={[
                t("wechat.tags.id"),
                t("wechat.tags.name"),
                t("wechat.tags.count"),
                t("common.actions"),
              ]}
              empty={props.tags.length === 0}
            >
              {props.tags.map((tag) => (
                <tr>
                  <td>{tag.id}</td>
                  <td>{tag.name}</td>
                  <td>{fmt.number(tag.count)}</td>
                  <td>
                    {/* WeChat's own tags (0 to 2) cannot be renamed or deleted. */}
                    {tag.id > 2 ? (
                      <div class="actions">
                        <form method="post" action={`${tagsBase}/${tag.id}/rename`} class="inline">
                          <Csrf />
                          <label class="visually-hidden" for={`rename-${tag.id}`}>
                            {t("wechat.tags.rename_label", { name: tag.name })}
                          </label>
                          <input
                            id={`rename-${tag.id}`}
                            name="name"
                            value={tag.name}
                            maxlength={30}
                            required
                          />
                          <button type="submit" class="secondary">
                            {t("wechat.tags.rename")}
                          </button>
                        </form>
                        <ConfirmAction
                          action={`${tagsBase}/${tag.id}/delete`}
                          label={t("wechat.tags.delete")}
                          question={t("wechat.tags.delete_question", {
                            name: tag.name,
                            n: tag.count,
                          })}
                        />
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </Table>
          ) : (
            <p class="muted">{t("wechat.tags.unreadable")}</p>
          )}
          <form method="post" action={`/dashboard/wechat/${props.appId}/tags`} class="narrow">
            <Csrf />
            <Field
              name="name"
              label={t("wechat.tags.new_name")}
              required
              maxlength={30}
              errors={props.errors}
            />
            <button type="submit">{t("wechat.tags.create")}</button>
          </form>
        </section>
      ) : null}
      {props.canManageTags ? (
        <section class="card narrow">
          <h2>{t("wechat.followers.remark_title")}</h2>
          <form method="post" action={`${base}/remark`}>
            <Csrf />
            <Field
              name="openid"
              label={t("wechat.followers.openid")}
              required
              maxlength={64}
              errors={props.errors}
            />
            <Field
              name="remark"
              label={t("wechat.followers.remark")}
              maxlength={29}
              hint={t("wechat.followers.remark_hint")}
              errors={props.errors}
            />
            <button type="submit">{t("wechat.followers.remark_save")}</button>
          </form>
        </section>
      ) : null}
      {props.canManageTags ? (
        <section class="card" id="blacklist">
          <h2>{t("wechat.blacklist.title")}</h2>
          {props.blacklist ? (
            <>
              <p class="muted">
                {t("wechat.blacklist.total", { n: fmt.number(props.blacklist.total) })}
              </p>
              <Table
                head={[t("wechat.followers.openid"), t("common.actions")]}
                empty={props.blacklist.openids.length === 0}
              >
                {props.blacklist.openids.slice(0, 200).map((openid) => (
                  <tr>
                    <td class="mono">{openid}</td>
                    <td>
                      <ConfirmAction
                        action={blacklistAction}
                        label={t("wechat.blacklist.remove")}
                        question={t("wechat.blacklist.remove_question", { openid })}
                        fields={{ action: "remove", openids: openid }}
                      />
                    </td>
                  </tr>
                ))}
              </Table>
            </>
          ) : (
            <p class="muted">{t("wechat.blacklist.unreadable")}</p>
          )}
          <ConfirmAction
            action={blacklistAction}
            label={t("wechat.blacklist.add")}
            question={t("wechat.blacklist.add_question")}
            fields={{ action: "add" }}
            open={props.errors?.openids !== undefined}
          >
            <Field
              name="openids"
              label={t("wechat.blacklist.openids")}
              multiline
              rows={3}
              required
              hint={t("wechat.blacklist.openids_hint")}
              errors={props.errors}
            />
          </ConfirmAction>
        </section>
      ) : null}
    </Layout>
  );
}

/**
 * What the dashboard sends as a broadcast: a text, an image or news (mpnews) by media id, or a
 * template (one template message per follower, fanned out through a queue).
 */
export const BROADCAST_KINDS = ["text", "image", "mpnews", "template"] as const;
export type BroadcastKind = (typeof BROADCAST_KINDS)[number];

export interface BroadcastDraft {
  kind: BroadcastKind;
  /** Ours (`med_…`) or WeChat's. */
  mediaId: string;
  text: string;
  /** Type template: the account's template id, and its data as `key=value` lines. */
  templateId: string;
  templateData: string;
  target: "all" | "tag";
  tagId: string;
  openid: string;
}

function targetOf(target: Record<string, unknown>, t: ReturnType<typeof useUi>["t"]): string {
  if (target.kind === "tag") {
    return t("wechat.broadcasts.target_tag_n", { id: String(target.tag_id) });
  }
  if (target.kind === "openids" && Array.isArray(target.openids)) {
    return t("wechat.broadcasts.target_openids_n", { n: target.openids.length });
  }
  return t("wechat.broadcasts.target_all");
}

/** A template broadcast's id, from its content as the API took it. */
function templateIdOf(content: Record<string, unknown>): string {
  const template = content.template;
  return template && typeof template === "object" && "wechat_template_id" in template
    ? String(template.wechat_template_id)
    : "";
}

/** A template broadcast's fan-out so far: a bar of followers tried out of those listed. */
function FanoutProgress(props: { row: BroadcastView["row"] }) {
  const { t, fmt } = useUi();
  const { row } = props;
  const total = row.fanoutTotal ?? 0;
  const sent = row.fanoutSent ?? 0;
  const errors = row.fanoutErrors ?? 0;
  return (
    <div class="fanout" data-testid="fanout">
      <progress
        max={Math.max(total, 1)}
        value={sent + errors}
        aria-label={t("wechat.broadcasts.fanout")}
      />{" "}
      {t("wechat.broadcasts.job_done", {
        sent: fmt.number(sent),
        total: fmt.number(total),
        errors: fmt.number(errors),
      })}
      {row.status === "sending" && !row.fanoutListed ? (
        <p class="hint">{t("wechat.broadcasts.fanout_listing")}</p>
      ) : null}
    </div>
  );
}

export function BroadcastsPage(props: {
  appId: string;
  broadcasts: readonly BroadcastView[];
  /** The account's templates to pick a template broadcast's from (WeChat's list). */
  templates: readonly AccountTemplate[];
  /** WeChat's list could not be had: the id is typed instead. */
  templatesUnavailable: boolean;
  /** The account's uploaded media to pick from. */
  media: readonly MediaRow[];
  cursor?: string;
  nextCursor: string | null;
  canSend: boolean;
  notice?: Notice;
  draft?: BroadcastDraft;
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  const draft: BroadcastDraft = props.draft ?? {
    kind: "text",
    mediaId: "",
    text: "",
    templateId: "",
    templateData: "",
    target: "all",
    tagId: "",
    openid: "",
  };
  const base = `/dashboard/wechat/${props.appId}/broadcasts`;
  return (
    <Layout title={t("wechat.broadcasts.title", { id: props.appId })}>
      <AppTabs appId={props.appId} current="broadcasts" />
      <NoticeLine notice={props.notice} />
      <section class="card">
        <Table
          head={[
            t("wechat.created"),
            t("wechat.broadcasts.status"),
            t("wechat.broadcasts.target"),
            t("wechat.broadcasts.content"),
            t("wechat.broadcasts.results"),
          ]}
          empty={props.broadcasts.length === 0}
        >
          {props.broadcasts.map(({ row, jobs }) => (
            <tr>
              <td>{fmt.dateTime(row.createdAt)}</td>
              <td>
                <span class={`pill ${row.status}`}>
                  {t(`wechat.broadcasts.status.${row.status}`)}
                </span>
                {row.failure ? <p class="hint">{row.failure}</p> : null}
                {row.reviewReason ? <p class="hint">{row.reviewReason}</p> : null}
              </td>
              <td>{targetOf(row.target, t)}</td>
              <td>
                {row.type === "text" && typeof row.content.text === "string" ? (
                  row.content.text
                ) : row.type === "template" ? (
                  <>
                    {t("wechat.broadcasts.kind.template")}{" "}
                    <span class="mono">{templateIdOf(row.content)}</span>
                  </>
                ) : (
                  <>
                    {t(`wechat.broadcasts.kind.${row.type}` as "wechat.broadcasts.kind.text")}{" "}
                    <span class="mono">
                      {Array.isArray(row.content.media_ids) ? row.content.media_ids.join(", ") : ""}
                    </span>
                  </>
                )}
              </td>
              <td>
                {row.type === "template" && row.fanoutTotal !== null ? (
                  <FanoutProgress row={row} />
                ) : jobs.length === 0 ? (
                  t("common.dash")
                ) : (
                  jobs.map((job) => (
                    <p class="job">
                      {job.finishedAt
                        ? t("wechat.broadcasts.job_done", {
                            sent: fmt.number(job.sent ?? 0),
                            total: fmt.number(job.total ?? 0),
                            errors: fmt.number(job.errors ?? 0),
                          })
                        : t("wechat.broadcasts.job_pending", { id: job.msgId })}
                    </p>
                  ))
                )}
              </td>
            </tr>
          ))}
        </Table>
        <Pager base={base} cursor={props.cursor} nextCursor={props.nextCursor} />
      </section>
      {props.canSend ? (
        <section class="card narrow">
          <h2>{t("wechat.broadcasts.new")}</h2>
          <p class="hint">{t("wechat.broadcasts.intro")}</p>
          <form method="post" action={base}>
            <Csrf />
            <SelectField
              name="type"
              label={t("wechat.broadcasts.kind")}
              value={draft.kind}
              options={BROADCAST_KINDS.map((k) => ({
                value: k,
                label: t(`wechat.broadcasts.kind.${k}`),
              }))}
              errors={props.errors}
            />
            <Field
              name="text"
              label={t("wechat.broadcasts.text")}
              value={draft.text}
              multiline
              rows={5}
              hint={t("wechat.broadcasts.text_hint")}
              errors={props.errors}
            />
            <SelectField
              name="media_ids.0"
              label={t("wechat.broadcasts.media")}
              value={draft.mediaId}
              options={[
                { value: "", label: t("common.dash") },
                ...props.media.map((m) => ({
                  value: m.id,
                  label: t("wechat.broadcasts.media_option", {
                    type: t(`wechat.media.type.${m.type}`),
                    name: m.filename ?? m.id,
                  }),
                })),
              ]}
              hint={
                props.media.length === 0
                  ? t("wechat.broadcasts.no_media")
                  : t("wechat.broadcasts.media_hint")
              }
              errors={props.errors}
            />
            {props.templatesUnavailable ? (
              <Field
                name="template.wechat_template_id"
                label={t("wechat.broadcasts.template")}
                value={draft.templateId}
                hint={t("wechat.broadcasts.templates_unavailable")}
                errors={props.errors}
              />
            ) : (
              <SelectField
                name="template.wechat_template_id"
                label={t("wechat.broadcasts.template")}
                value={draft.templateId}
                options={[
                  { value: "", label: t("common.dash") },
                  ...props.templates.map((tpl) => ({
                    value: tpl.templateId,
                    label: t("wechat.broadcasts.template_option", {
                      title: tpl.title || tpl.templateId,
                      id: tpl.templateId,
                    }),
                  })),
                ]}
                hint={
                  props.templates.length === 0
                    ? t("wechat.broadcasts.no_templates")
                    : t("wechat.broadcasts.template_hint")
                }
                errors={props.errors}
              />
            )}
            <Field
              name="template.data"
              label={t("wechat.broadcasts.template_data")}
              value={draft.templateData}
              multiline
              rows={4}
              hint={t("wechat.broadcasts.template_data_hint")}
              errors={props.errors}
            />
            <SelectField
              name="target"
              label={t("wechat.broadcasts.target")}
              value={draft.target}
              options={[
                { value: "all", label: t("wechat.broadcasts.target_all") },
                { value: "tag", label: t("wechat.broadcasts.target_tag") },
              ]}
              errors={props.errors}
            />
            <Field
              name="target.tag_id"
              label={t("wechat.broadcasts.tag_id")}
              type="number"
              value={draft.tagId}
              errors={props.errors}
            />
            <Field
              name="openid"
              label={t("wechat.broadcasts.preview_openid")}
              value={draft.openid}
              hint={t("wechat.broadcasts.preview_hint")}
              errors={props.errors}
            />
            <div class="actions">
              <button type="submit" name="intent" value="preview" class="secondary">
                {t("wechat.broadcasts.preview")}
              </button>
              <button type="submit" name="intent" value="send">
                {t("wechat.broadcasts.send")}
              </button>
            </div>
          </form>
        </section>
      ) : null}
    </Layout>
  );
}

export function MediaPage(props: {
  appId: string;
  media: readonly MediaRow[];
  cursor?: string;
  nextCursor: string | null;
  canUpload: boolean;
  notice?: Notice;
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  const base = `/dashboard/wechat/${props.appId}/media`;
  return (
    <Layout title={t("wechat.media.title", { id: props.appId })}>
      <AppTabs appId={props.appId} current="media" />
      <NoticeLine notice={props.notice} />
      <section class="card">
        <Table
          head={[
            t("wechat.media.id"),
            t("wechat.media.type"),
            t("wechat.media.file"),
            t("wechat.media.size"),
            t("wechat.media.kind"),
            t("wechat.media.media_id"),
            t("wechat.created"),
          ]}
          empty={props.media.length === 0}
        >
          {props.media.map((m) => (
            <tr>
              <td class="mono">{m.id}</td>
              <td>{t(`wechat.media.type.${m.type}`)}</td>
              <td>{m.filename ?? t("common.dash")}</td>
              <td>{fmt.number(m.bytes)}</td>
              <td>
                {m.permanent
                  ? t("wechat.media.permanent")
                  : t("wechat.media.until", { at: fmt.dateTime(m.expiresAt ?? m.createdAt) })}
              </td>
              <td class="mono">{m.mediaId}</td>
              <td>{fmt.dateTime(m.createdAt)}</td>
            </tr>
          ))}
        </Table>
        <Pager base={base} cursor={props.cursor} nextCursor={props.nextCursor} />
      </section>
      {props.canUpload ? (
        <section class="card narrow">
          <h2>{t("wechat.media.upload")}</h2>
          <form method="post" action={base} enctype="multipart/form-data">
            <Csrf />
            <SelectField
              name="type"
              label={t("wechat.media.type")}
              options={MEDIA_TYPES.map((type) => ({
                value: type,
                label: t(`wechat.media.type.${type}`),
              }))}
              errors={props.errors}
            />
            <SelectField
              name="permanent"
              label={t("wechat.media.kind")}
              options={[
                { value: "false", label: t("wechat.media.temporary") },
                { value: "true", label: t("wechat.media.permanent") },
              ]}
              errors={props.errors}
            />
            <Field
              name="file"
              label={t("wechat.media.file")}
              type="file"
              required
              hint={t("wechat.media.file_hint")}
              errors={props.errors}
            />
            <button type="submit">{t("wechat.media.upload_submit")}</button>
          </form>
        </section>
      ) : null}
    </Layout>
  );
}

export function BindingsPage(props: {
  appId: string;
  bindings: readonly AppBinding[];
  cursor?: string;
  nextCursor: string | null;
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("wechat.bindings.title", { id: props.appId })}>
      <AppTabs appId={props.appId} current="bindings" />
      <section class="card">
        <p class="muted">{t("wechat.bindings.intro")}</p>
        <Table
          head={[
            t("wechat.bindings.contact"),
            t("wechat.followers.openid"),
            t("wechat.bindings.source"),
            t("wechat.created"),
          ]}
          empty={props.bindings.length === 0}
        >
          {props.bindings.map((b) => (
            <tr>
              <td>{b.externalId}</td>
              <td class="mono">{b.openid}</td>
              <td>{t(`wechat.bindings.source.${b.source}`)}</td>
              <td>{fmt.dateTime(b.createdAt)}</td>
            </tr>
          ))}
        </Table>
        <Pager
          base={`/dashboard/wechat/${props.appId}/bindings`}
          cursor={props.cursor}
          nextCursor={props.nextCursor}
        />
      </section>
    </Layout>
  );
}
