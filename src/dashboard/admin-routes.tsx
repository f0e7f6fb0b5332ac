/**
 * The dashboard's administration routes: Roles, the Audit log and Settings. Each calls the service
 * the API's route calls and checks a change with the API's own schema, so a refused field shows
 * the API's message; each POST checks the session's permission itself (403), whatever the page
 * showed, and the service writes the audit entry in the batch of the change.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { budgetZoneOf } from "../domain/budget";
import { grants, PERMISSIONS, type Permission } from "../domain/permissions";
import { startOfLocalDay } from "../domain/stats";
import { ApiError, validationError } from "../lib/problem";
import { budgetUsageOf } from "../services/accounts/budget";
import { RoleInputSchema } from "../services/accounts/role-schemas";
import { createRole, deleteRole, getRole, listRoles, updateRole } from "../services/accounts/roles";
import { TenantUpdateSchema, tenantChangesOf } from "../services/accounts/tenant-schemas";
import { getTenant, updateTenant } from "../services/accounts/tenants";
import { listAuditEntries, verifyAuditChain } from "../services/audit/audit-log";
import { AuditPage, type AuditQuery } from "./audit";
import { type FieldErrors, type FormFields, fieldErrorsOf, fieldOf, readForm } from "./forms";
import { type RoleDraft, RolesPage } from "./roles";
import {
  SETTINGS_SECTIONS,
  SettingsPage,
  type SettingsSection,
  type SettingsView,
} from "./settings";
import { type Notice, problemNotice, render, setFlash, tOf } from "./ui";

const ROLE_ID = /^rol_[0-9A-Z]{26}$/;
const AUDIT_ID = /^aud_[0-9A-Z]{26}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function requirePermission(c: Context<AppEnv>, permission: Permission, what: string): void {
  if (!grants(c.get("caller").scopes, permission)) {
    throw new ApiError("forbidden", `Your role cannot ${what}.`);
  }
}

const formStatus = (error: ApiError) =>
  error.status === 403 || error.status === 409 ? error.status : 422;

/** Runs a form's change; a refused one renders its page with why, a 404 stays a 404. */
async function refusedAs<T>(
  change: () => Promise<T>,
  refused: (error: ApiError) => Promise<Response> | Response,
): Promise<T | Response> {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 404) {
      throw error;
    }
    return refused(error);
  }
}

// ---- Roles ----

async function renderRoles(
  c: Context<AppEnv>,
  view: { draft?: RoleDraft; notice?: Notice } = {},
  status: 200 | 403 | 409 | 422 = 200,
) {
  requirePermission(c, "users:read", "see roles");
  const caller = c.get("caller");
  return render(
    c,
    <RolesPage
      roles={await listRoles(c.env, caller)}
      canWrite={grants(caller.scopes, "users:write")}
      grantable={PERMISSIONS.filter((p) => grants(caller.scopes, p))}
      draft={view.draft}
      notice={view.notice}
    />,
    status,
  );
}

function roleDraftOf(form: FormFields, id?: string): RoleDraft {
  const permissions = form.permissions;
  const list = Array.isArray(permissions) ? permissions : permissions ? [permissions] : [];
  return {
    id,
    name: fieldOf(form, "name"),
    description: fieldOf(form, "description"),
    permissions: list.filter((p): p is string => typeof p === "string"),
  };
}

/** Creates or saves a role from its form, as POST / PATCH /v1/roles would. */
async function saveRole(c: Context<AppEnv>, id?: string) {
  const form = await readForm(c, true);
  const draft = roleDraftOf(form, id);
  const outcome = await refusedAs(
    async () => {
      requirePermission(c, "users:write", "change roles");
      const parsed = RoleInputSchema.safeParse(draft);
      if (!parsed.success) {
        throw validationError("json", parsed.error);
      }
      const role = id
        ? await updateRole(c.env, c.get("caller"), id, parsed.data)
        : await createRole(c.env, c.get("caller"), parsed.data);
      setFlash(c, "ok", id ? "roles.updated" : "roles.created", { name: role.name });
      return c.redirect("/dashboard/roles", 303);
    },
    (error) =>
      renderRoles(
        c,
        {
          draft: { ...draft, errors: fieldErrorsOf(error) },
          notice: problemNotice(error),
        },
        formStatus(error),
      ),
  );
  return outcome;
}

function roleIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!ROLE_ID.test(id)) {
    throw new ApiError("not-found", `No role ${id}.`);
  }
  return id;
}

// ---- Audit ----

/** The day after a local date YYYY-MM-DD. */
const nextDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

async function renderAudit(
  c: Context<AppEnv>,
  check?: Awaited<ReturnType<typeof verifyAuditChain>>,
) {
  requirePermission(c, "audit:read", "read the audit log");
  const text = (name: string) => {
    const value = (c.req.query(name) ?? "").trim();
    return value && value.length <= 200 ? value : undefined;
  };
  const day = (name: string) => {
    const value = c.req.query(name) ?? "";
    return DAY.test(value) && !Number.isNaN(Date.parse(value)) ? value : undefined;
  };
  const query: AuditQuery = {
    actor: text("actor"),
    action: text("action"),
    target: text("target"),
    since: day("since"),
    until: day("until"),
  };
  const cursorParam = c.req.query("cursor");
  const cursor = cursorParam && AUDIT_ID.test(cursorParam) ? cursorParam : undefined;
  // Dates are days in the tenant's zone: from the first day's start to the last day's end.
  const zone = budgetZoneOf(c.get("caller").tenant.homeCountry);
  const since = query.since ? startOfLocalDay(query.since, zone) : undefined;
  const until = query.until ? startOfLocalDay(nextDay(query.until), zone) - 1 : undefined;
  if (since !== undefined && until !== undefined && since > until) {
    return render(
      c,
      <AuditPage
        entries={[]}
        query={query}
        nextCursor={null}
        notice={{ kind: "error", text: tOf(c)("audit.bad_dates") }}
      />,
      422,
    );
  }
  const { since: _s, until: _u, ...filter } = query;
  const page = await listAuditEntries(
    c.env,
    c.get("caller").tenant.id,
    { ...filter, since, until },
    { limit: 50, cursor },
  );
  return render(
    c,
    <AuditPage
      entries={page.data}
      query={query}
      cursor={cursor}
      nextCursor={page.nextCursor}
      check={check}
    />,
  );
}

// ---- Settings ----

/** A form number as the API would receive it: a number when it reads as one, else the text. */
function numberOf(value: string): number | string {
  const trimmed = value.trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

/** The section's form as a PATCH /v1/tenant body (its members named as the form's fields). */
function updateOf(section: SettingsSection, form: FormFields): Record<string, unknown> {
  const v = (name: string) => fieldOf(form, name);
  const n = (name: string) => numberOf(v(name));
  const optional = (name: string) => v(name).trim() || undefined;
  switch (section) {
    case "rate":
      return { send_rate: n("send_rate") };
    case "quiet":
      return {
        quiet_hours:
          v("quiet_hours.start").trim() === "" && v("quiet_hours.end").trim() === ""
            ? null
            : { start: v("quiet_hours.start").trim(), end: v("quiet_hours.end").trim() },
      };
    case "budget":
      return {
        budget:
          v("budget.monthly_limit").trim() === ""
            ? null
            : { monthly_limit: n("budget.monthly_limit") },
      };
    case "retention":
      return {
        retention: {
          bodies_days: n("retention.bodies_days"),
          messages_days: n("retention.messages_days"),
          inbound_days: n("retention.inbound_days"),
        },
      };
    case "verification":
      return {
        verification_limits: {
          per_minute: n("verification_limits.per_minute"),
          per_hour: n("verification_limits.per_hour"),
          per_day: n("verification_limits.per_day"),
          prefix_per_hour: n("verification_limits.prefix_per_hour"),
          country_per_day: n("verification_limits.country_per_day"),
        },
        fraud_guard: {
          enabled: v("fraud_guard.enabled") === "on",
          threshold: n("fraud_guard.threshold"),
          min_volume: n("fraud_guard.min_volume"),
        },
        verification_opt_out_exempt: v("verification_opt_out_exempt") === "on",
      };
    case "opt_out": {
      const zh = optional("opt_out_confirmation.zh");
      const en = optional("opt_out_confirmation.en");
      return { opt_out_confirmation: zh === undefined && en === undefined ? null : { zh, en } };
    }
  }
}

async function renderSettings(
  c: Context<AppEnv>,
  view: Pick<SettingsView, "refused" | "notice"> = {},
  status: 200 | 403 | 422 = 200,
) {
  requirePermission(c, "admin", "change the account's settings");
  const tenant = await getTenant(c.env, c.get("caller"));
  const usage = await budgetUsageOf(c.env, tenant.id, {
    homeCountry: tenant.homeCountry,
    currency: tenant.currency,
    budgetMicros: tenant.budgetMicros ?? null,
  });
  return render(c, <SettingsPage tenant={tenant} usage={usage} {...view} />, status);
}

export const adminPages = new Hono<AppEnv>()
  .get("/dashboard/roles", async (c) => {
    const edit = c.req.query("edit") ?? "";
    if (ROLE_ID.test(edit) && grants(c.get("caller").scopes, "users:write")) {
      const role = await getRole(c.env, c.get("caller"), edit);
      return renderRoles(c, {
        draft: {
          id: role.id,
          name: role.name,
          description: role.description,
          permissions: role.permissions,
        },
      });
    }
    return renderRoles(c);
  })
  .post("/dashboard/roles", (c) => saveRole(c))
  .post("/dashboard/roles/:id/delete", async (c) => {
    const id = roleIdParam(c);
    await readForm(c);
    return refusedAs(
      async () => {
        requirePermission(c, "users:write", "delete roles");
        const role = await getRole(c.env, c.get("caller"), id);
        await deleteRole(c.env, c.get("caller"), id);
        setFlash(c, "ok", "roles.deleted", { name: role.name });
        return c.redirect("/dashboard/roles", 303);
      },
      (error) => renderRoles(c, { notice: problemNotice(error) }, formStatus(error)),
    );
  })
  .post("/dashboard/roles/:id", (c) => saveRole(c, roleIdParam(c)))
  .get("/dashboard/audit", (c) => renderAudit(c))
  .post("/dashboard/audit/verify", async (c) => {
    requirePermission(c, "audit:read", "verify the audit log");
    return renderAudit(c, await verifyAuditChain(c.env, c.get("caller").tenant.id));
  })
  .get("/dashboard/settings", (c) => renderSettings(c))
  .post("/dashboard/settings/:section", async (c) => {
    const section = SETTINGS_SECTIONS.find((s) => s === c.req.param("section"));
    if (!section) {
      throw new ApiError("not-found", `No settings section ${c.req.param("section")}.`);
    }
    const form = await readForm(c);
    return refusedAs(
      async () => {
        requirePermission(c, "admin", "change the account's settings");
        const parsed = TenantUpdateSchema.safeParse(updateOf(section, form));
        if (!parsed.success) {
          throw validationError("json", parsed.error);
        }
        await updateTenant(c.env, c.get("caller"), tenantChangesOf(parsed.data));
        setFlash(c, "ok", "settings.saved");
        return c.redirect(`/dashboard/settings#settings-${section}`, 303);
      },
      (error) => {
        const values = Object.fromEntries(
          Object.keys(form).map((name) => [name, fieldOf(form, name)]),
        );
        const errors: FieldErrors = fieldErrorsOf(error);
        return renderSettings(
          c,
          { refused: { section, values, errors }, notice: problemNotice(error) },
          error.status === 403 ? 403 : 422,
        );
      },
    );
  });
