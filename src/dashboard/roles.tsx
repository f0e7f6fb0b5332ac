/** The Roles page: the built-in roles (read-only) and the tenant's custom roles with their forms. */
import { PERMISSION_DESCRIPTIONS, PERMISSIONS, type Permission } from "../domain/permissions";
import type { Role } from "../services/accounts/roles";
import { ConfirmAction, Csrf, Field, FieldError, NoticeLine, Table } from "./components";
import type { FieldErrors } from "./forms";
import { Layout } from "./layout";
import { type Notice, useUi } from "./ui";

/** A role's shown name: a built-in role's from the catalog, a custom role's own. */
export function useRoleName(): (role: Pick<Role, "id" | "name" | "builtIn">) => string {
  const { t } = useUi();
  return (role) => (role.builtIn ? t(`role.${role.id}` as Parameters<typeof t>[0]) : role.name);
}

export interface RoleDraft {
  /** The role being edited; absent for a new one. */
  id?: string;
  name: string;
  description: string;
  permissions: string[];
  errors?: FieldErrors;
}

function RoleForm(props: { draft: RoleDraft; grantable: readonly Permission[] }) {
  const { t } = useUi();
  const d = props.draft;
  const action = d.id ? `/dashboard/roles/${d.id}` : "/dashboard/roles";
  const permissionsError = Object.entries(d.errors ?? {}).find(([k]) =>
    k.startsWith("permissions"),
  )?.[1];
  return (
    <form method="post" action={action}>
      <Csrf />
      <Field
        name="name"
        label={t("roles.name")}
        value={d.name}
        required
        maxlength={100}
        errors={d.errors}
      />
      <Field
        name="description"
        label={t("roles.description")}
        value={d.description}
        maxlength={500}
        errors={d.errors}
      />
      <fieldset class={permissionsError ? "field has-error" : "field"}>
        <legend>{t("roles.permissions")}</legend>
        <div class="checkbox-grid">
          {PERMISSIONS.filter((p) => props.grantable.includes(p)).map((p) => (
            <label title={PERMISSION_DESCRIPTIONS[p]}>
              <input
                type="checkbox"
                name="permissions"
                value={p}
                checked={d.permissions.includes(p)}
              />{" "}
              <span class="mono">{p}</span>
            </label>
          ))}
        </div>
        <FieldError error={permissionsError} />
      </fieldset>
      <button type="submit">{d.id ? t("roles.save") : t("roles.create")}</button>
    </form>
  );
}

export function RolesPage(props: {
  roles: Role[];
  canWrite: boolean;
  /** What the signed-in user may grant: their own permissions. */
  grantable: readonly Permission[];
  draft?: RoleDraft;
  notice?: Notice;
}) {
  const { t, fmt } = useUi();
  const name = useRoleName();
  const custom = props.roles.filter((r) => !r.builtIn);
  const editing = props.draft?.id;
  return (
    <Layout title={t("roles.title")}>
      <NoticeLine notice={props.notice} />
      <div class="card">
        <h2>{t("roles.built_in")}</h2>
        <Table head={[t("roles.col_role"), t("roles.col_permissions")]}>
          {props.roles
            .filter((r) => r.builtIn)
            .map((r) => (
              <tr>
                <td>
                  {name(r)} <span class="muted mono">{r.id}</span>
                </td>
                <td class="mono small">{r.permissions.join(" ")}</td>
              </tr>
            ))}
        </Table>
      </div>
      <div class="card">
        <h2>{t("roles.custom")}</h2>
        <Table
          head={[
            t("roles.col_role"),
            t("roles.col_permissions"),
            t("roles.col_updated"),
            ...(props.canWrite ? [t("common.actions")] : []),
          ]}
          empty={custom.length === 0}
        >
          {custom.map((r) => (
            <tr>
              <td>
                {r.name} <span class="muted mono">{r.id}</span>
                {r.description ? <div class="muted">{r.description}</div> : null}
              </td>
              <td class="mono small">{r.permissions.join(" ")}</td>
              <td>{r.updatedAt === null ? t("common.dash") : fmt.dateTime(r.updatedAt)}</td>
              {props.canWrite ? (
                <td>
                  <div class="actions">
                    <a class="button secondary" href={`/dashboard/roles?edit=${r.id}#role-form`}>
                      {t("roles.edit")}
                    </a>
                    <ConfirmAction
                      action={`/dashboard/roles/${r.id}/delete`}
                      label={t("roles.delete")}
                      question={t("roles.confirm_delete", { name: r.name })}
                    />
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
      </div>
      {props.canWrite ? (
        <div class="card narrow" id="role-form">
          <h2>
            {editing
              ? t("roles.edit_title", { name: props.draft?.name ?? "" })
              : t("roles.create_title")}
          </h2>
          <RoleForm
            draft={props.draft ?? { name: "", description: "", permissions: [] }}
            grantable={props.grantable}
          />
        </div>
      ) : null}
    </Layout>
  );
}
