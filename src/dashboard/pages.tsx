import type { Permission } from "../domain/permissions";
import { smsFiguresOf } from "../domain/segments";
import { MESSAGE_STATUSES } from "../domain/vocabulary";
import type { AttemptRow, MessageRow } from "../services/messaging/message-reads";
import { Layout, StatusPill } from "./layout";

const when = (ms: number | null) =>
  ms === null ? "—" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);

/** "2 · UCS-2" for an SMS; a WeChat message has no segments. */
function segmentsText(m: MessageRow): string {
  const { segments, encoding } = smsFiguresOf(m);
  return segments === null ? "—" : `${segments} · ${encoding}`;
}

export function LoginPage(props: { error?: string; notice?: string; email?: string }) {
  return (
    <Layout title="Sign in">
      <div class="card narrow">
        <h1>Sign in</h1>
        {props.error ? <p class="error">{props.error}</p> : null}
        {props.notice ? <p class="ok">{props.notice}</p> : null}
        <form method="post" action="/dashboard/login">
          <label for="email">Email</label>
          <input id="email" name="email" type="email" required value={props.email ?? ""} />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" required />
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}

export function MessagesPage(props: {
  csrf: string;
  permissions: readonly Permission[];
  email: string;
  canSend: boolean;
  messages: MessageRow[];
  status?: string;
  nextCursor: string | null;
  notice?: { kind: "ok" | "error"; text: string };
  draft?: { to: string; body: string };
}) {
  const filter = props.status ? `&status=${props.status}` : "";
  return (
    <Layout title="Messages" csrf={props.csrf} permissions={props.permissions}>
      <p class="muted">Signed in as {props.email}</p>
      {props.notice ? <p class={props.notice.kind}>{props.notice.text}</p> : null}
      {props.canSend ? (
        <div class="card">
          <h2>Send an SMS</h2>
          <form method="post" action="/dashboard/messages">
            <input type="hidden" name="csrf" value={props.csrf} />
            <label for="to">To</label>
            <input
              id="to"
              name="to"
              required
              placeholder="+8613800138000"
              value={props.draft?.to ?? ""}
            />
            <label for="body">Message</label>
            <textarea id="body" name="body" rows={3} required>
              {props.draft?.body ?? ""}
            </textarea>
            <button type="submit">Send</button>
          </form>
        </div>
      ) : null}
      <div class="card">
        <h2>Messages</h2>
        <p class="filters">
          <a href="/dashboard">all</a>
          {MESSAGE_STATUSES.map((s) => (
            <a href={`/dashboard?status=${s}`}>{s}</a>
          ))}
        </p>
        <table>
          <thead>
            <tr>
              <th>Message</th>
              <th>To</th>
              <th>Status</th>
              <th>Segments</th>
              <th>Created (UTC)</th>
            </tr>
          </thead>
          <tbody>
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
                <td>{when(m.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {props.messages.length === 0 ? <p class="muted">No messages yet.</p> : null}
        {props.nextCursor ? (
          <p>
            <a href={`/dashboard?cursor=${props.nextCursor}${filter}`}>Older →</a>
          </p>
        ) : null}
      </div>
    </Layout>
  );
}

export function MessagePage(props: {
  csrf: string;
  permissions: readonly Permission[];
  message: MessageRow;
  attempts: AttemptRow[];
}) {
  const m = props.message;
  const rows: [string, string | number | null][] = [
    ["To", m.recipient],
    ["From", m.sender],
    ["Reason", m.statusReason],
    ["Segments", segmentsText(m)],
    ["Provider", m.provider],
    ["Provider id", m.providerMessageId],
    ["Mode", m.mode],
    ["Created", when(m.createdAt)],
    ["Sent", when(m.sentAt)],
    ["Completed", when(m.completedAt)],
  ];
  return (
    <Layout title={m.id} csrf={props.csrf} permissions={props.permissions}>
      <p>
        <a href="/dashboard">← Messages</a>
      </p>
      <div class="card">
        <h2 class="mono">
          {m.id} <StatusPill status={m.status} />
        </h2>
        <pre class="text">{m.body}</pre>
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
      <div class="card">
        <h3>Attempts</h3>
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>Provider</th>
              <th>Outcome</th>
              <th>Reason</th>
              <th>Latency</th>
              <th>At (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {props.attempts.map((a) => (
              <tr>
                <td>{a.attempt}</td>
                <td>{a.provider}</td>
                <td>{a.outcome}</td>
                <td>{a.reason ?? "—"}</td>
                <td>{a.latencyMs} ms</td>
                <td>{when(a.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {props.attempts.length === 0 ? <p class="muted">No attempts yet.</p> : null}
      </div>
    </Layout>
  );
}
