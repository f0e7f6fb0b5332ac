/** The dashboard's people pages: Users (list, invite, role, disable, remove), Account, invitation. */

import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../domain/passwords";
import type { Permission } from "../domain/permissions";
import type { UserRecord } from "../services/accounts/users";
import { Layout } from "./layout";

export type Notice = { kind: "ok" | "error"; text: string };

interface RoleChoice {
  value: string;
  label: string;
}

function Hidden(props: { csrf: string }) {
  return <input type="hidden" name="csrf" value={props.csrf} />;
}

function RoleSelect(props: { roles: RoleChoice[]; selected?: string; id?: string }) {
  return (
    <select name="role" id={props.id}>
      {props.roles.map((r) => (
        <option value={r.value} selected={r.value === props.selected}>
          {r.label}
        </option>
      ))}
    </select>
  );
}

export function UsersPage(props: {
  csrf: string;
  permissions: readonly Permission[];
  selfId: string;
  canWrite: boolean;
  users: UserRecord[];
  nextCursor: string | null;
  roles: RoleChoice[];
  notice?: Notice;
  invitationUrl?: string;
}) {
  const label = (role: string) => props.roles.find((r) => r.value === role)?.label ?? role;
  return (
    <Layout title="Users" csrf={props.csrf} permissions={props.permissions}>
      {props.notice ? <p class={props.notice.kind}>{props.notice.text}</p> : null}
      {props.invitationUrl ? (
        <div class="card">
          <h2>Invitation link</h2>
          <p class="muted">No mail is sent: pass this link on. It works once, for 7 days.</p>
          <pre class="text mono invitation-url">{props.invitationUrl}</pre>
        </div>
      ) : null}
      {props.canWrite ? (
        <div class="card">
          <h2>Invite a user</h2>
          <form method="post" action="/dashboard/users">
            <Hidden csrf={props.csrf} />
            <label for="email">Email</label>
            <input id="email" name="email" type="email" required maxlength={254} />
            <label for="role">Role</label>
            <RoleSelect id="role" roles={props.roles} selected="analyst" />
            <button type="submit">Invite</button>
          </form>
        </div>
      ) : null}
      <div class="card">
        <h2>Users</h2>
        <table>
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Since</th>
              {props.canWrite ? <th>Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {props.users.map((u) => (
              <tr>
                <td>
                  {u.email} <span class="muted mono">{u.id}</span>
                  {u.id === props.selfId ? <span class="muted"> (you)</span> : null}
                </td>
                <td>{label(u.role)}</td>
                <td>
                  <span class="pill">{u.status}</span>
                </td>
                <td>{new Date(u.createdAt).toISOString().slice(0, 10)}</td>
                {props.canWrite ? (
                  <td>
                    {u.id === props.selfId ? null : (
                      <form method="post" action={`/dashboard/users/${u.id}/role`}>
                        <Hidden csrf={props.csrf} />
                        <RoleSelect roles={props.roles} selected={u.role} />
                        <button type="submit">Change role</button>
                      </form>
                    )}
                    {u.status === "invited" ? null : (
                      <form
                        method="post"
                        action={`/dashboard/users/${u.id}/${u.status === "active" ? "disable" : "enable"}`}
                      >
                        <Hidden csrf={props.csrf} />
                        <button type="submit">
                          {u.status === "active" ? "Disable" : "Enable"}
                        </button>
                      </form>
                    )}
                    <form method="post" action={`/dashboard/users/${u.id}/remove`}>
                      <Hidden csrf={props.csrf} />
                      <button type="submit" class="danger">
                        Remove
                      </button>
                    </form>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
        {props.nextCursor ? (
          <a href={`/dashboard/users?cursor=${props.nextCursor}`}>Older →</a>
        ) : null}
      </div>
    </Layout>
  );
}

const PASSWORD_HINT = `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters; not a common password, not your email address.`;

export function AccountPage(props: {
  csrf: string;
  permissions: readonly Permission[];
  email: string;
  role: string;
  notice?: Notice;
}) {
  return (
    <Layout title="Account" csrf={props.csrf} permissions={props.permissions}>
      {props.notice ? <p class={props.notice.kind}>{props.notice.text}</p> : null}
      <div class="card narrow">
        <h2>Your account</h2>
        <p class="muted">
          {props.email} · {props.role}
        </p>
        <h3>Change your password</h3>
        <p class="muted">{PASSWORD_HINT} Your other sessions are signed out.</p>
        <form method="post" action="/dashboard/account/password">
          <Hidden csrf={props.csrf} />
          <label for="current_password">Current password</label>
          <input id="current_password" name="current_password" type="password" required />
          <label for="new_password">New password</label>
          <input
            id="new_password"
            name="new_password"
            type="password"
            required
            minlength={PASSWORD_MIN_LENGTH}
            maxlength={PASSWORD_MAX_LENGTH}
          />
          <button type="submit">Change password</button>
        </form>
      </div>
    </Layout>
  );
}

export function InvitationPage(props: { token: string; email?: string; error?: string }) {
  return (
    <Layout title="Accept the invitation">
      <div class="card narrow">
        <h1>Join Relaybox</h1>
        {props.error ? <p class="error">{props.error}</p> : null}
        {props.email ? (
          <form method="post" action={`/dashboard/invitations/${encodeURIComponent(props.token)}`}>
            <p class="muted">
              Set a password for {props.email}. {PASSWORD_HINT}
            </p>
            <label for="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              required
              minlength={PASSWORD_MIN_LENGTH}
              maxlength={PASSWORD_MAX_LENGTH}
            />
            <button type="submit">Set password</button>
          </form>
        ) : (
          <p>
            <a href="/dashboard/login">Sign in</a>
          </p>
        )}
      </div>
    </Layout>
  );
}
