/** The dashboard's people pages: Users (list, invite, role, disable, remove), Account, invitation. */

import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../domain/passwords";
import type { UserRecord } from "../services/accounts/users";
import { ConfirmAction, Csrf, Field, NoticeLine, Pager, PostButton, Table } from "./components";
import { Layout, StatusPill } from "./layout";
import { type Notice, useUi } from "./ui";

export type { Notice } from "./ui";

interface RoleChoice {
  value: string;
  label: string;
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

function PasswordHint() {
  const { t } = useUi();
  return <>{t("account.password_hint", { min: PASSWORD_MIN_LENGTH, max: PASSWORD_MAX_LENGTH })}</>;
}

export function UsersPage(props: {
  selfId: string;
  canWrite: boolean;
  users: UserRecord[];
  cursor?: string;
  nextCursor: string | null;
  roles: RoleChoice[];
  notice?: Notice;
  invitationUrl?: string;
}) {
  const { t, fmt } = useUi();
  const label = (role: string) => props.roles.find((r) => r.value === role)?.label ?? role;
  return (
    <Layout title={t("users.title")}>
      <NoticeLine notice={props.notice} />
      {props.invitationUrl ? (
        <div class="card">
          <h2>{t("users.invitation_link")}</h2>
          <p class="muted">{t("users.invitation_hint")}</p>
          <pre class="text mono invitation-url">{props.invitationUrl}</pre>
        </div>
      ) : null}
      {props.canWrite ? (
        <div class="card">
          <h2>{t("users.invite_title")}</h2>
          <form method="post" action="/dashboard/users">
            <Csrf />
            <Field name="email" label={t("users.email")} type="email" required maxlength={254} />
            <Field name="role" label={t("users.role")}>
              <RoleSelect id="field-role" roles={props.roles} selected="analyst" />
            </Field>
            <button type="submit">{t("users.invite")}</button>
          </form>
        </div>
      ) : null}
      <div class="card">
        <Table
          head={[
            t("users.col_email"),
            t("users.col_role"),
            t("users.col_status"),
            t("users.col_since"),
            ...(props.canWrite ? [t("common.actions")] : []),
          ]}
        >
          {props.users.map((u) => (
            <tr>
              <td>
                {u.email} <span class="muted mono">{u.id}</span>
                {u.id === props.selfId ? <span class="muted"> {t("common.you")}</span> : null}
              </td>
              <td>{label(u.role)}</td>
              <td>
                <StatusPill status={u.status} />
              </td>
              <td>{fmt.date(u.createdAt)}</td>
              {props.canWrite ? (
                <td>
                  <div class="actions">
                    {u.id === props.selfId ? null : (
                      <form method="post" action={`/dashboard/users/${u.id}/role`}>
                        <Csrf />
                        <RoleSelect roles={props.roles} selected={u.role} />
                        <button type="submit">{t("users.change_role")}</button>
                      </form>
                    )}
                    {u.status === "invited" ? null : u.status === "active" ? (
                      <ConfirmAction
                        action={`/dashboard/users/${u.id}/disable`}
                        label={t("users.disable")}
                        question={t("users.confirm_disable", { email: u.email })}
                      />
                    ) : (
                      <PostButton
                        action={`/dashboard/users/${u.id}/enable`}
                        label={t("users.enable")}
                      />
                    )}
                    <ConfirmAction
                      action={`/dashboard/users/${u.id}/remove`}
                      label={t("users.remove")}
                      question={t("users.confirm_remove", { email: u.email })}
                    />
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
        <Pager base="/dashboard/users" cursor={props.cursor} nextCursor={props.nextCursor} />
      </div>
    </Layout>
  );
}

export function AccountPage(props: { email: string; role: string; notice?: Notice }) {
  const { t } = useUi();
  return (
    <Layout title={t("account.title")}>
      <NoticeLine notice={props.notice} />
      <div class="card narrow">
        <h2>{t("account.heading")}</h2>
        <p class="muted">
          {props.email} · {props.role}
        </p>
        <h3>{t("account.change_password")}</h3>
        <p class="muted">
          <PasswordHint /> {t("account.others_signed_out")}
        </p>
        <form method="post" action="/dashboard/account/password">
          <Csrf />
          <Field
            name="current_password"
            label={t("account.current_password")}
            type="password"
            required
          />
          <Field
            name="new_password"
            label={t("account.new_password")}
            type="password"
            required
            minlength={PASSWORD_MIN_LENGTH}
            maxlength={PASSWORD_MAX_LENGTH}
          />
          <button type="submit">{t("account.submit")}</button>
        </form>
      </div>
    </Layout>
  );
}

export function InvitationPage(props: { token: string; email?: string; error?: string }) {
  const { t } = useUi();
  return (
    <Layout title={t("invitation.heading")}>
      <div class="card narrow">
        {props.error ? <p class="error">{props.error}</p> : null}
        {props.email ? (
          <form method="post" action={`/dashboard/invitations/${encodeURIComponent(props.token)}`}>
            <p class="muted">
              {t("invitation.set_for", { email: props.email })} <PasswordHint />
            </p>
            <Field
              name="password"
              label={t("invitation.password")}
              type="password"
              required
              minlength={PASSWORD_MIN_LENGTH}
              maxlength={PASSWORD_MAX_LENGTH}
            />
            <button type="submit">{t("invitation.submit")}</button>
          </form>
        ) : (
          <p>
            <a href="/dashboard/login">{t("invitation.sign_in")}</a>
          </p>
        )}
      </div>
    </Layout>
  );
}
