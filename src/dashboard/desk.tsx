/**
 * The service desk in the dashboard: the agent's workspace (my status, the queue with the left
 * messages' due times, my conversations, the open thread with the contact, reply through the
 * right channel, canned replies, internal notes, transfer, resolve, take), the supervisor's view
 * (every agent's load and status, the queues, reassign) and the canned replies' list. The lists
 * and the thread are fragments (`#desk-lists`, `#desk-thread`) that /dashboard/desk.js re-fetches
 * as the desk's live events arrive; without script every page still works by reloading.
 */
import type { AgentStatus, DeskState } from "../domain/desk";
import type { ConversationRow } from "../services/conversations/conversations";
import type { ThreadItem } from "../services/conversations/thread";
import type { CannedReply } from "../services/desk/canned-replies";
import type { AgentRow, ServiceWindowView } from "../services/desk/desk";
import { ConfirmAction, Csrf, Field, NoticeLine, PostButton, Table } from "./components";
import type { FieldErrors } from "./forms";
import { Layout } from "./layout";
import { type Notice, useUi } from "./ui";

export const DESK_SCRIPT = "/dashboard/desk.js";

export interface DeskNote {
  id: string;
  body: string;
  actor: string;
  at: number;
}

export interface OpenThread {
  conversation: ConversationRow;
  items: ThreadItem[];
  notes: DeskNote[];
  contact: { name: string | null; externalId: string; phone: string | null } | null;
  bindings: { appId: string; openid: string }[];
  window: ServiceWindowView | null;
}

export interface WorkspaceView {
  me: AgentRow | null;
  selfId: string;
  queue: ConversationRow[];
  mine: ConversationRow[];
  agents: AgentRow[];
  canned: CannedReply[];
  open: OpenThread | null;
  now: number;
  notice?: Notice;
}

function preview(c: ConversationRow): string {
  const body = c.lastMessage?.body ?? "";
  return body.length > 60 ? `${body.slice(0, 60)}…` : body;
}

function StatePill(props: { state: DeskState }) {
  const { t } = useUi();
  return <span class={`pill desk-${props.state}`}>{t(`desk.state.${props.state}`)}</span>;
}

/** "微信 · oAbc…": the conversation's channel, in the page's language, and its customer. */
function Customer(props: { c: ConversationRow }) {
  const { t } = useUi();
  return (
    <>
      {t(`channel.${props.c.channel}`)} · {props.c.counterpart}
    </>
  );
}

function ConversationLink(props: { c: ConversationRow; openId: string | null; now: number }) {
  const { t, fmt } = useUi();
  const c = props.c;
  return (
    <li class={props.openId === c.id ? "desk-item current" : "desk-item"}>
      <a
        href={`/dashboard/desk?c=${c.id}`}
        aria-current={props.openId === c.id ? "page" : undefined}
      >
        <span class="desk-who">
          <Customer c={c} />
        </span>
        <StatePill state={c.deskState} />
        {c.unreadCount > 0 ? <span class="pill unread">{fmt.number(c.unreadCount)}</span> : null}
        <span class="desk-preview muted">{preview(c)}</span>
        {c.deskState === "left_message" && c.dueAt !== null ? (
          <span class={c.dueAt < props.now ? "desk-due overdue" : "desk-due"}>
            {t("desk.due", { at: fmt.dateTime(c.dueAt) })}
          </span>
        ) : null}
      </a>
    </li>
  );
}

/** The queue and my conversations: the fragment desk.js re-fetches on a state change. */
/** One of the workspace's two lists (the queue, my conversations): what desk.js re-fetches. */
function ConversationList(props: {
  list: "queue" | "mine";
  title: string;
  empty: string;
  rows: ConversationRow[];
  openId: string | null;
  now: number;
}) {
  const titleId = `desk-${props.list}-title`;
  return (
    <section class="card" aria-labelledby={titleId}>
      <h2 id={titleId}>
        {props.title} <span class="muted">({props.rows.length})</span>
      </h2>
      {props.rows.length === 0 ? <p class="muted">{props.empty}</p> : null}
      <ul class="desk-list" data-list={props.list}>
        {props.rows.map((c) => (
          <ConversationLink c={c} openId={props.openId} now={props.now} />
        ))}
      </ul>
    </section>
  );
}

export function DeskLists(props: { view: WorkspaceView }) {
  const { t } = useUi();
  const v = props.view;
  const openId = v.open?.conversation.id ?? null;
  return (
    <div id="desk-lists" class="desk-lists">
      <ConversationList
        list="queue"
        title={t("desk.queue")}
        empty={t("desk.queue_empty")}
        rows={v.queue}
        openId={openId}
        now={v.now}
      />
      <ConversationList
        list="mine"
        title={t("desk.mine")}
        empty={t("desk.mine_empty")}
        rows={v.mine}
        openId={openId}
        now={v.now}
      />
    </div>
  );
}

function StatusForm(props: { me: AgentRow | null }) {
  const { t } = useUi();
  const current: AgentStatus = props.me?.status ?? "offline";
  return (
    <form method="post" action="/dashboard/desk/status" class="desk-status actions">
      <Csrf />
      <label for="desk-status">{t("desk.my_status")}</label>
      <select id="desk-status" name="status">
        {(["online", "away", "offline"] as const).map((s) => (
          <option value={s} selected={s === current}>
            {t(`desk.status.${s}`)}
          </option>
        ))}
      </select>
      <button type="submit">{t("desk.set_status")}</button>
      {props.me ? (
        <span class="muted">
          {t("desk.load", { load: props.me.load, capacity: props.me.capacity })}
        </span>
      ) : null}
    </form>
  );
}

function WindowLine(props: {
  channel: ConversationRow["channel"];
  window: ServiceWindowView | null;
  now: number;
}) {
  const { t, fmt } = useUi();
  const w = props.window;
  if (!w) {
    return (
      <p class="desk-channel">
        {t(props.channel === "webchat" ? "desk.channel_webchat" : "desk.channel_sms")}
      </p>
    );
  }
  if (!w.open || w.expiresAt === null) {
    return <p class="desk-channel closed">{t("desk.window_closed")}</p>;
  }
  const left = Math.max(0, w.expiresAt - props.now);
  const h = Math.floor(left / 3_600_000);
  const m = Math.floor((left % 3_600_000) / 60_000);
  return (
    <p class="desk-channel open">
      {t("desk.window_open")}{" "}
      <time
        class="countdown"
        datetime={new Date(w.expiresAt).toISOString()}
        data-expires={String(w.expiresAt)}
        title={fmt.dateTime(w.expiresAt)}
      >
        {`${h}:${String(m).padStart(2, "0")}`}
      </time>
    </p>
  );
}

function ReplyForms(props: { open: OpenThread; canned: CannedReply[]; now: number }) {
  const { t } = useUi();
  const c = props.open.conversation;
  const base = `/dashboard/desk/${c.id}`;
  const closed = props.open.window !== null && !props.open.window.open;
  if (closed) {
    return (
      <form method="post" action={`${base}/template`} class="desk-template">
        <Csrf />
        <p class="hint">{t("desk.template_hint")}</p>
        <Field name="wechat_template_id" label={t("desk.template_id")} required maxlength={64} />
        <Field
          name="data"
          label={t("desk.template_data")}
          multiline
          rows={3}
          placeholder={"first=…\nkeyword1=…"}
          hint={t("desk.template_data_hint")}
        />
        <button type="submit">{t("desk.send_template")}</button>
      </form>
    );
  }
  return (
    <form method="post" action={`${base}/reply`} class="desk-reply">
      <Csrf />
      {props.canned.length > 0 ? (
        <div class="field">
          <label for="desk-canned">{t("desk.canned")}</label>
          <select id="desk-canned" name="canned_id" data-canned-picker="desk-body">
            <option value="">{t("desk.canned_none")}</option>
            {props.canned.map((r) => (
              <option value={r.id} data-body={r.body}>
                {r.title}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <div class="field">
        <label for="desk-body">{t("desk.reply")}</label>
        <textarea id="desk-body" name="body" rows={3} maxlength={1000} />
      </div>
      <button type="submit" class="primary">
        {t(
          c.channel === "wechat"
            ? "desk.send_wechat"
            : c.channel === "webchat"
              ? "desk.send_webchat"
              : "desk.send_sms",
        )}
      </button>
    </form>
  );
}

/** The open conversation: the fragment desk.js re-fetches when its events arrive. */
export function DeskThread(props: { view: WorkspaceView }) {
  const { t, fmt } = useUi();
  const v = props.view;
  const open = v.open;
  if (!open) {
    return (
      <section id="desk-thread" class="card desk-thread" data-conversation="">
        <p class="muted">{t("desk.pick")}</p>
      </section>
    );
  }
  const c = open.conversation;
  const base = `/dashboard/desk/${c.id}`;
  const mineNow =
    c.agentId === v.selfId && (c.deskState === "assigned" || c.deskState === "pending");
  const takeable =
    c.deskState === "queued" || c.deskState === "left_message" || c.deskState === "bot";
  const others = v.agents.filter((a) => a.userId !== c.agentId && a.status !== "offline");
  const skills = [...new Set(v.agents.flatMap((a) => a.skills))].sort();
  return (
    <section id="desk-thread" class="card desk-thread" data-conversation={c.id}>
      <header class="desk-thread-head">
        <h2>
          <Customer c={c} />
        </h2>
        <StatePill state={c.deskState} />
        {c.dueAt !== null ? (
          <span class="muted">{t("desk.due", { at: fmt.dateTime(c.dueAt) })}</span>
        ) : null}
      </header>
      <dl class="desk-contact">
        <dt>{t("desk.contact")}</dt>
        <dd>
          {open.contact
            ? `${open.contact.name ?? "—"} (${open.contact.externalId})${open.contact.phone ? ` · ${open.contact.phone}` : ""}`
            : t("desk.no_contact")}
        </dd>
        {open.bindings.length > 0 ? (
          <>
            <dt>{t("desk.bindings")}</dt>
            <dd>{open.bindings.map((b) => `${b.appId}: ${b.openid}`).join(", ")}</dd>
          </>
        ) : null}
      </dl>
      <ol class="desk-messages" aria-label={t("desk.thread")}>
        {open.items.map((m) => (
          <li class={`bubble ${m.direction}`}>
            <span class="bubble-body">{m.body}</span>
            <span class="bubble-meta muted">
              {fmt.dateTime(m.at)}
              {m.status ? ` · ${t(`status.${m.status}`)}` : ""}
            </span>
          </li>
        ))}
        {open.notes.map((n) => (
          <li class="bubble note">
            <span class="bubble-body">
              {t("desk.note_label")}: {n.body}
            </span>
            <span class="bubble-meta muted">{fmt.dateTime(n.at)}</span>
          </li>
        ))}
      </ol>
      {takeable ? (
        <div class="actions">
          <PostButton action={`${base}/take`} label={t("desk.take")} class="primary-form" />
        </div>
      ) : null}
      {mineNow ? (
        <>
          <WindowLine channel={c.channel} window={open.window} now={v.now} />
          <ReplyForms open={open} canned={v.canned} now={v.now} />
        </>
      ) : null}
      <details class="desk-more">
        <summary>{t("desk.more")}</summary>
        <form method="post" action={`${base}/note`} class="desk-note">
          <Csrf />
          <Field name="body" label={t("desk.note")} multiline rows={2} maxlength={2000} required />
          <button type="submit">{t("desk.add_note")}</button>
        </form>
        {mineNow || v.me === null ? (
          <form method="post" action={`${base}/transfer`} class="desk-transfer actions">
            <Csrf />
            <label for="desk-transfer-to">{t("desk.transfer_to")}</label>
            <select id="desk-transfer-to" name="to">
              {others.map((a) => (
                <option value={`agent:${a.userId}`}>{a.email}</option>
              ))}
              <option value="skill:">{t("desk.queue_any")}</option>
              {skills.map((s) => (
                <option value={`skill:${s}`}>{t("desk.queue_skill", { skill: s })}</option>
              ))}
            </select>
            <button type="submit">{t("desk.transfer")}</button>
          </form>
        ) : null}
      </details>
      {c.deskState !== "resolved" ? (
        <ConfirmAction
          action={`${base}/resolve`}
          label={t("desk.resolve")}
          question={t("desk.resolve_question")}
        />
      ) : null}
    </section>
  );
}

export function WorkspacePage(props: { view: WorkspaceView }) {
  const { t } = useUi();
  return (
    <Layout title={t("desk.title")}>
      <NoticeLine notice={props.view.notice} />
      <StatusForm me={props.view.me} />
      <div
        class="desk"
        id="desk"
        data-live="/dashboard/desk/live"
        data-lists="/dashboard/desk/fragments/lists"
        data-thread="/dashboard/desk/fragments/thread"
      >
        <DeskLists view={props.view} />
        <DeskThread view={props.view} />
      </div>
      <p class="desk-live muted" id="desk-live-state" aria-live="polite">
        {t("desk.live_off")}
      </p>
      <script src={DESK_SCRIPT} defer />
    </Layout>
  );
}

/** A conversation's customer on the supervisor's tables, linking to it in the workspace. */
function CustomerLink(props: { c: ConversationRow }) {
  const { c } = props;
  return (
    <a href={`/dashboard/desk?c=${c.id}`}>
      <Customer c={c} />
    </a>
  );
}

export function SupervisePage(props: {
  agents: AgentRow[];
  queue: ConversationRow[];
  held: ConversationRow[];
  now: number;
  notice?: Notice;
}) {
  const { t, fmt } = useUi();
  const online = props.agents.filter((a) => a.status !== "offline");
  const Reassign = (p: { c: ConversationRow }) => (
    <form method="post" action={`/dashboard/desk/${p.c.id}/assign`} class="inline actions">
      <Csrf />
      <label class="sr-only" for={`assign-${p.c.id}`}>
        {t("desk.assign_to")}
      </label>
      <select id={`assign-${p.c.id}`} name="agent_id">
        {online.map((a) => (
          <option value={a.userId} selected={a.userId === p.c.agentId}>
            {a.email}
          </option>
        ))}
      </select>
      <button type="submit">{t("desk.assign")}</button>
    </form>
  );
  return (
    <Layout title={t("desk.supervise_title")}>
      <NoticeLine notice={props.notice} />
      <div id="desk" data-live="/dashboard/desk/live" data-reload="1">
        <section class="card">
          <h2>{t("desk.agents")}</h2>
          <Table
            head={[t("desk.agent"), t("desk.status"), t("desk.load_head"), t("desk.skills")]}
            empty={props.agents.length === 0}
          >
            {props.agents.map((a) => (
              <tr>
                <td>{a.email}</td>
                <td>
                  <span class={`pill agent-${a.status}`}>{t(`desk.status.${a.status}`)}</span>
                </td>
                <td>
                  {fmt.number(a.load)} / {fmt.number(a.capacity)}
                </td>
                <td>{a.skills.join(", ") || "—"}</td>
              </tr>
            ))}
          </Table>
        </section>
        <section class="card">
          <h2>{t("desk.queue")}</h2>
          <Table
            head={[t("desk.customer"), t("desk.state"), t("desk.waiting"), t("desk.assign")]}
            empty={props.queue.length === 0}
          >
            {props.queue.map((c) => (
              <tr>
                <td>
                  <CustomerLink c={c} />
                </td>
                <td>
                  <StatePill state={c.deskState} />
                  {c.skill ? ` ${c.skill}` : ""}
                </td>
                <td>
                  {c.dueAt !== null
                    ? t("desk.due", { at: fmt.dateTime(c.dueAt) })
                    : fmt.dateTime(c.lastActivityAt)}
                </td>
                <td>
                  <Reassign c={c} />
                </td>
              </tr>
            ))}
          </Table>
        </section>
        <section class="card">
          <h2>{t("desk.held")}</h2>
          <Table
            head={[t("desk.customer"), t("desk.state"), t("desk.agent"), t("desk.assign")]}
            empty={props.held.length === 0}
          >
            {props.held.map((c) => (
              <tr>
                <td>
                  <CustomerLink c={c} />
                </td>
                <td>
                  <StatePill state={c.deskState} />
                </td>
                <td>{props.agents.find((a) => a.userId === c.agentId)?.email ?? c.agentId}</td>
                <td>
                  <Reassign c={c} />
                </td>
              </tr>
            ))}
          </Table>
        </section>
      </div>
      <script src={DESK_SCRIPT} defer />
    </Layout>
  );
}

export function CannedPage(props: {
  replies: CannedReply[];
  canWrite: boolean;
  notice?: Notice;
  /** A refused add's field errors, and what was typed (kept for the next try). */
  errors?: FieldErrors;
  values?: { title: string; body: string };
}) {
  const { t } = useUi();
  return (
    <Layout title={t("desk.canned_title")}>
      <NoticeLine notice={props.notice} />
      <section class="card">
        <Table
          head={[t("desk.canned_name"), t("desk.canned_body"), ""]}
          empty={props.replies.length === 0}
        >
          {props.replies.map((r) => (
            <tr>
              <td>{r.title}</td>
              <td>{r.body}</td>
              <td>
                {props.canWrite ? (
                  <ConfirmAction
                    action={`/dashboard/desk/canned/${r.id}/delete`}
                    label={t("desk.canned_delete")}
                    question={t("desk.canned_delete_question", { title: r.title })}
                  />
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      </section>
      {props.canWrite ? (
        <section class="card narrow">
          <h2>{t("desk.canned_add")}</h2>
          <form method="post" action="/dashboard/desk/canned">
            <Csrf />
            <Field
              name="title"
              label={t("desk.canned_name")}
              errors={props.errors}
              value={props.values?.title}
              required
              maxlength={60}
            />
            <Field
              name="body"
              label={t("desk.canned_body")}
              errors={props.errors}
              value={props.values?.body}
              multiline
              required
              maxlength={1000}
            />
            <button type="submit" class="primary">
              {t("desk.canned_add")}
            </button>
          </form>
        </section>
      ) : null}
    </Layout>
  );
}
