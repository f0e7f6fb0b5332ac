/**
 * The dashboard's people routes: the public invitation page, and the signed-in Users and Account
 * pages. Each POST checks the session's permission itself (403), whatever the page showed.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { settingsOf } from "../config/settings";
import { grants, isBuiltInRole, type Permission } from "../domain/permissions";
import { ApiError } from "../lib/problem";
import {
  acceptInvitation,
  changeOwnPassword,
  pendingInvitation,
} from "../services/accounts/passwords";
import {
  assignableRoles,
  changeRole,
  inviteUser,
  listUsers,
  removeUser,
  setUserEnabled,
} from "../services/accounts/users";
import { readForm } from "./forms";
import { AccountPage, InvitationPage, type Notice, UsersPage } from "./people";
import { setSessionCookie } from "./session";
import { problemNotice, render, tOf } from "./ui";

const USER_ID = /^usr_[0-9A-Z]{26}$/;

const field = (form: Record<string, unknown>, name: string) =>
  typeof form[name] === "string" ? (form[name] as string) : "";

function requirePermission(c: Context<AppEnv>, permission: Permission, what: string): void {
  if (!grants(c.get("caller").scopes, permission)) {
    throw new ApiError("forbidden", `Your role cannot ${what}.`);
  }
}

/** The status a refused form answers with: the problem's own for 403/404/409, else 422. */
const formStatus = (error: ApiError) =>
  error.status === 403 || error.status === 409 ? error.status : 422;

async function renderUsers(
  c: Context<AppEnv>,
  view: { cursor?: string; notice?: Notice; invitationUrl?: string },
  httpStatus: 200 | 201 | 403 | 409 | 422 = 200,
) {
  requirePermission(c, "users:read", "see users");
  const caller = c.get("caller");
  const [page, roles] = await Promise.all([
    listUsers(c.env, caller, { limit: 100, cursor: view.cursor }),
    assignableRoles(c.env, caller.tenant.id),
  ]);
  return render(
    c,
    <UsersPage
      selfId={c.get("session").userId}
      canWrite={grants(caller.scopes, "users:write")}
      users={page.data}
      cursor={view.cursor}
      nextCursor={page.nextCursor}
      roles={roles.map((r) =>
        isBuiltInRole(r.value) ? { ...r, label: tOf(c)(`role.${r.value}`) } : r,
      )}
      notice={view.notice}
      invitationUrl={view.invitationUrl}
    />,
    httpStatus,
  );
}

/** Runs a Users form's change; a refused one renders the page with why, a 404 stays a 404. */
async function usersForm(c: Context<AppEnv>, change: () => Promise<string>) {
  try {
    requirePermission(c, "users:write", "change users");
    const done = await change();
    return renderUsers(c, { notice: { kind: "ok", text: done } });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 404) {
      throw error;
    }
    return renderUsers(c, { notice: problemNotice(error) }, formStatus(error));
  }
}

function userIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!USER_ID.test(id)) {
    throw new ApiError("not-found", `No user ${id}.`);
  }
  return id;
}

function renderAccount(c: Context<AppEnv>, notice?: Notice, httpStatus: 200 | 422 = 200) {
  const session = c.get("session");
  return render(
    c,
    <AccountPage email={session.email} role={session.role} notice={notice} />,
    httpStatus,
  );
}

/** Before the session middleware: the invited person has no session yet. */
export const invitationPages = new Hono<AppEnv>()
  .get("/dashboard/invitations/:token", async (c) => {
    const token = c.req.param("token");
    try {
      const invitation = await pendingInvitation(c.env, token);
      return render(c, <InvitationPage token={token} email={invitation.email} />);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return render(c, <InvitationPage token={token} error={error.message} />, formStatus(error));
    }
  })
  .post("/dashboard/invitations/:token", async (c) => {
    const token = c.req.param("token");
    const password = field(await readForm(c), "password");
    try {
      await acceptInvitation(
        c.env,
        { token, password },
        {
          requestId: c.get("requestId"),
          ip: c.req.header("cf-connecting-ip") ?? null,
        },
      );
      return c.redirect("/dashboard/login?accepted=1", 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      // A refused password keeps the form; a used or expired link shows only why.
      const invitation =
        error.errors?.[0]?.pointer === "/password"
          ? await pendingInvitation(c.env, token).catch(() => undefined)
          : undefined;
      return render(
        c,
        <InvitationPage token={token} email={invitation?.email} error={error.message} />,
        formStatus(error),
      );
    }
  });

/** After the session middleware. */
export const peoplePages = new Hono<AppEnv>()
  .get("/dashboard/users", (c) => {
    const cursor = c.req.query("cursor");
    return renderUsers(c, { cursor: cursor && USER_ID.test(cursor) ? cursor : undefined });
  })
  .post("/dashboard/users", async (c) => {
    const form = await readForm(c);
    let invitationUrl: string | undefined;
    try {
      requirePermission(c, "users:write", "invite users");
      const email = field(form, "email").trim();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254) {
        throw new ApiError("unprocessable-entity", tOf(c)("users.bad_email"));
      }
      const invited = await inviteUser(
        c.env,
        c.get("caller"),
        { email, role: field(form, "role") },
        settingsOf(c.env).PUBLIC_BASE_URL,
      );
      invitationUrl = invited.invitationUrl;
      const text = tOf(c)("users.invited", {
        email: invited.user.email,
        role: invited.user.role,
      });
      return renderUsers(c, { notice: { kind: "ok", text }, invitationUrl }, 201);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderUsers(c, { notice: problemNotice(error) }, formStatus(error));
    }
  })
  .post("/dashboard/users/:id/role", async (c) => {
    const id = userIdParam(c);
    const role = field(await readForm(c), "role");
    return usersForm(c, async () => {
      const user = await changeRole(c.env, c.get("caller"), id, role);
      return tOf(c)("users.role_changed", { email: user.email, role: user.role });
    });
  })
  .post("/dashboard/users/:id/:action{disable|enable}", async (c) => {
    const id = userIdParam(c);
    const enable = c.req.param("action") === "enable";
    return usersForm(c, async () => {
      const user = await setUserEnabled(c.env, c.get("caller"), id, enable);
      const done = user.status === "active" ? "users.enabled" : "users.disabled";
      return tOf(c)(done, { email: user.email });
    });
  })
  .post("/dashboard/users/:id/remove", async (c) => {
    const id = userIdParam(c);
    return usersForm(c, async () => {
      await removeUser(c.env, c.get("caller"), id);
      return tOf(c)("users.removed", { id });
    });
  })
  .get("/dashboard/account", (c) => renderAccount(c))
  .post("/dashboard/account/password", async (c) => {
    const form = await readForm(c);
    try {
      const reissued = await changeOwnPassword(c.env, c.get("caller"), c.get("session"), {
        current: field(form, "current_password"),
        next: field(form, "new_password"),
      });
      setSessionCookie(c, reissued.token);
      c.set("session", { ...reissued.session, tenantName: c.get("session").tenantName });
      return renderAccount(c, { kind: "ok", text: tOf(c)("account.changed") });
    } catch (error) {
      // Past the sign-in limits: the 429 problem itself, with its Retry-After.
      if (!(error instanceof ApiError) || error.status === 429) {
        throw error;
      }
      return renderAccount(c, problemNotice(error), 422);
    }
  });
