/** Sign-in, the messages list (with the send form) and a message's detail. */
import { smsFiguresOf } from "../domain/segments";
import { MESSAGE_STATUSES } from "../domain/vocabulary";
import type { AttemptRow, MessageRow } from "../services/messaging/message-reads";
import { Csrf, Field, FilterField, FilterForm, NoticeLine, Pager, Table } from "./components";
import type { FieldErrors } from "./forms";
import { Layout, StatusPill } from "./layout";
import { type Notice, useUi } from "./ui";

/** "2 · UCS-2" for an SMS; a WeChat message has no segments. */
function segmentsText(m: MessageRow): string {
  const { segments, encoding } = smsFiguresOf(m);
  return segments === null ? "—" : `${segments} · ${encoding}`;
}

export function LoginPage(props: { error?: boolean; accepted?: boolean; email?: string }) {
  const { t } = useUi();
  return (
    <Layout title={t("login.title")}>
      <div class="card narrow">
        {props.error ? <p class="error">{t("login.wrong")}</p> : null}
        {props.accepted ? <p class="ok">{t("login.accepted")}</p> : null}
        <form method="post" action="/dashboard/login">
          <Field name="email" label={t("login.email")} type="email" required value={props.email} />
          <Field name="password" label={t("login.password")} type="password" required />
          <button type="submit">{t("login.submit")}</button>
        </form>
      </div>
    </Layout>
  );
}

export function MessagesPage(props: {
  canSend: boolean;
  messages: MessageRow[];
  status?: string;
  cursor?: string;
  nextCursor: string | null;
  notice?: Notice;
  draft?: { to: string; body: string };
  errors?: FieldErrors;
}) {
  const { t, fmt } = useUi();
  return (
    <Layout title={t("messages.title")}>
      <NoticeLine notice={props.notice} />
      {props.canSend ? (
        <div class="card">
          <h2>{t("messages.send_title")}</h2>
          <form method="post" action="/dashboard/messages">
            <Csrf />
            <Field
              name="to"
              label={t("messages.to")}
              required
              placeholder="+8613800138000"
              value={props.draft?.to}
              errors={props.errors}
            />
            <Field
              name="body"
              label={t("messages.body")}
              multiline
              required
              value={props.draft?.body}
              errors={props.errors}
            />
            <button type="submit">{t("messages.send")}</button>
          </form>
        </div>
      ) : null}
      <div class="card">
        <FilterForm action="/dashboard/messages">
          <FilterField
            name="status"
            label={t("messages.status")}
            value={props.status}
            options={[
              { value: "", label: t("common.all") },
              ...MESSAGE_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) })),
            ]}
          />
        </FilterForm>
        <Table
          head={[
            t("messages.col_message"),
            t("messages.col_to"),
            t("messages.col_status"),
            t("messages.col_segments"),
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
              <td>{fmt.dateTime(m.createdAt)}</td>
            </tr>
          ))}
        </Table>
        {props.messages.length === 0 ? <p class="muted">{t("messages.empty")}</p> : null}
        <p class="muted">{t("message.times_in", { zone: fmt.zone })}</p>
        <Pager
          base="/dashboard/messages"
          query={{ status: props.status }}
          cursor={props.cursor}
          nextCursor={props.nextCursor}
        />
      </div>
    </Layout>
  );
}

export function MessagePage(props: { message: MessageRow; attempts: AttemptRow[] }) {
  const { t, fmt } = useUi();
  const m = props.message;
  const rows: [string, string | number | null][] = [
    [t("message.to"), m.recipient],
    [t("message.from"), m.sender],
    [t("message.reason"), m.statusReason],
    [t("message.segments"), segmentsText(m)],
    [t("message.provider"), m.provider],
    [t("message.provider_id"), m.providerMessageId],
    [t("message.mode"), m.mode],
    [t("message.created"), fmt.dateTime(m.createdAt)],
    [t("message.sent"), fmt.dateTime(m.sentAt)],
    [t("message.completed"), fmt.dateTime(m.completedAt)],
  ];
  return (
    <Layout title={m.id}>
      <p>
        <a href="/dashboard/messages">{t("message.back")}</a>
      </p>
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
