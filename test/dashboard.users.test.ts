import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listAuditEntries } from "../src/services/audit/audit-log";
import { addUser, form, sessionCookieOf, signedIn, signIn } from "./support/dashboard";
import { call, createTenant } from "./support/tenants";
import { accept, auditActions, GOOD_PASSWORD, invite } from "./support/users";

const SIGNED_OUT = "/dashboard/login";

async function isSignedOut(cookie: string) {
  const res = await call("/dashboard/account", null, { headers: { cookie } });
  await res.body?.cancel();
  return res.status === 303 && res.headers.get("location") === SIGNED_OUT;
}

type Signed = { cookie: string; csrf: string };

function post(who: Signed, path: string, fields: Record<string, string> = {}) {
  return call(path, null, form({ csrf: who.csrf, ...fields }, who.cookie));
}

describe("the dashboard's Users page", () => {
  it("shows an admin the list and the forms, and the invitation link it creates", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    expect(admin.page).toContain('href="/dashboard/users"');
    const page = await (
      await call("/dashboard/users", null, { headers: { cookie: admin.cookie } })
    ).text();
    expect(page).toContain(admin.user.email);
    expect(page).toContain('action="/dashboard/users"');
    const res = await post(admin, "/dashboard/users", {
      email: "new@example.com",
      role: "analyst",
    });
    expect(res.status).toBe(201);
    const html = await res.text();
    const link = /class="text mono invitation-url">([^<]+)</.exec(html)?.[1] ?? "";
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:8787\/dashboard\/invitations\//);

    // The invited person sets a password on the invitation page, then signs in.
    const path = new URL(link).pathname;
    const shown = await call(path, null);
    expect(await shown.text()).toContain("new@example.com");
    const weak = await call(path, null, form({ password: "password1234" }));
    expect(weak.status).toBe(422);
    const set = await call(path, null, form({ password: GOOD_PASSWORD }));
    expect(set.status).toBe(303);
    expect(set.headers.get("location")).toBe("/dashboard/login?accepted=1");
    const used = await call(path, null);
    expect(used.status).toBe(409);
    const analyst = await signIn({ id: "", email: "new@example.com", password: GOOD_PASSWORD });
    expect(analyst.page).not.toContain('href="/dashboard/users"');
  });

  it("hides the forms from a reader and refuses their posts; refuses the page without users:read", async () => {
    const tenant = await createTenant();
    const operator = await signedIn(tenant, "operator");
    const target = await addUser(tenant, "analyst");
    const page = await (
      await call("/dashboard/users", null, { headers: { cookie: operator.cookie } })
    ).text();
    expect(page).toContain(target.email);
    expect(page).not.toContain('action="/dashboard/users"');
    expect(page).not.toContain("/disable");
    for (const [path, fields] of [
      ["/dashboard/users", { email: "x@example.com", role: "analyst" }],
      [`/dashboard/users/${target.id}/role`, { role: "agent" }],
      [`/dashboard/users/${target.id}/disable`, {}],
      [`/dashboard/users/${target.id}/remove`, {}],
    ] as const) {
      const res = await post(operator, path, fields);
      expect(res.status).toBe(403);
      await res.body?.cancel();
    }
    const analyst = await signedIn(tenant, "analyst");
    const refused = await call("/dashboard/users", null, { headers: { cookie: analyst.cookie } });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    expect(await auditActions(tenant.id)).not.toContain("user.invite");
  });

  it("ends a user's sessions when their role changes, they are disabled, or removed", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const roleChanged = await signedIn(tenant, "analyst");
    const disabled = await signedIn(tenant, "analyst");
    const removed = await signedIn(tenant, "analyst");
    expect(
      (await post(admin, `/dashboard/users/${roleChanged.user.id}/role`, { role: "reviewer" }))
        .status,
    ).toBe(200);
    expect((await post(admin, `/dashboard/users/${disabled.user.id}/disable`)).status).toBe(200);
    expect((await post(admin, `/dashboard/users/${removed.user.id}/remove`)).status).toBe(200);
    for (const who of [roleChanged, disabled, removed]) {
      expect(await isSignedOut(who.cookie)).toBe(true);
    }
    expect(await isSignedOut(admin.cookie)).toBe(false);
    const refused = await call(
      "/dashboard/login",
      null,
      form({ email: disabled.user.email, password: disabled.user.password }),
    );
    expect(refused.status).toBe(401);
  });

  it("keeps owners to owners, refuses a user's own role, and keeps the last owner", async () => {
    const tenant = await createTenant();
    const owner = await signedIn(tenant, "owner");
    const admin = await signedIn(tenant, "admin");
    // An admin neither makes nor unmakes an owner.
    expect(
      (await post(admin, `/dashboard/users/${owner.user.id}/role`, { role: "analyst" })).status,
    ).toBe(403);
    expect(
      (await post(admin, `/dashboard/users/${admin.user.id}/role`, { role: "owner" })).status,
    ).toBe(403);
    // Nobody changes their own role.
    expect(
      (await post(owner, `/dashboard/users/${owner.user.id}/role`, { role: "admin" })).status,
    ).toBe(403);
    // The last active owner can't be disabled or removed.
    expect((await post(owner, `/dashboard/users/${owner.user.id}/disable`)).status).toBe(409);
    expect((await post(owner, `/dashboard/users/${owner.user.id}/remove`)).status).toBe(409);
    // An owner makes another owner; then one may go.
    expect(
      (await post(owner, `/dashboard/users/${admin.user.id}/role`, { role: "owner" })).status,
    ).toBe(200);
    const second = await signIn(admin.user);
    expect((await post(second, `/dashboard/users/${owner.user.id}/remove`)).status).toBe(200);
    expect((await post(second, `/dashboard/users/${admin.user.id}/disable`)).status).toBe(409);
  });

  it("lets only one of two owners demoting each other at once win", async () => {
    const tenant = await createTenant();
    const a = await signedIn(tenant, "owner");
    const b = await signedIn(tenant, "owner");
    const [ab, ba] = await Promise.all([
      post(a, `/dashboard/users/${b.user.id}/role`, { role: "admin" }),
      post(b, `/dashboard/users/${a.user.id}/role`, { role: "admin" }),
    ]);
    const statuses = [ab.status, ba.status];
    // The loser is refused: 409 (the last owner) or, if it ran after, signed out (303).
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    const owners = await env.DB.prepare(
      "SELECT count(*) AS n FROM users WHERE tenant_id = ? AND role = 'owner' AND status = 'active'",
    )
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(owners?.n).toBe(1);
  });

  it("answers a change to another tenant's user with a 404", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const invited = await invite(other, "analyst");
    await accept(invited.token);
    const admin = await signedIn(tenant, "admin");
    const res = await post(admin, `/dashboard/users/${invited.user.id}/role`, { role: "agent" });
    expect(res.status).toBe(404);
  });
});

describe("the dashboard's Account page", () => {
  it("changes the password, keeps this session and ends the others", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "analyst");
    const here = await signIn(user);
    const elsewhere = await signIn(user);
    const wrong = await post(here, "/dashboard/account/password", {
      current_password: "not it at all",
      new_password: "a brand new long secret",
    });
    expect(wrong.status).toBe(422);
    const weak = await post(here, "/dashboard/account/password", {
      current_password: user.password,
      new_password: "short",
    });
    expect(weak.status).toBe(422);
    expect(await isSignedOut(elsewhere.cookie)).toBe(false);

    const res = await post(here, "/dashboard/account/password", {
      current_password: user.password,
      new_password: "a brand new long secret",
    });
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain("a brand new long secret");
    const cookie = sessionCookieOf(res);
    expect(cookie).toMatch(/^rbx_session=/);
    expect(await isSignedOut(cookie)).toBe(false);
    expect(await isSignedOut(here.cookie)).toBe(true);
    expect(await isSignedOut(elsewhere.cookie)).toBe(true);
    const old = await call(
      "/dashboard/login",
      null,
      form({ email: user.email, password: user.password }),
    );
    expect(old.status).toBe(401);
    await signIn({ ...user, password: "a brand new long secret" });

    const entries = await listAuditEntries(
      env,
      tenant.id,
      { action: "user.password_change" },
      { limit: 5 },
    );
    expect(entries.data).toHaveLength(1);
    expect(entries.data[0]?.diff).not.toContain("brand new");
    expect(await auditActions(tenant.id)).toEqual([
      "session.sign_in",
      "session.sign_in",
      "user.password_change",
      "session.sign_in_failed",
      "session.sign_in",
    ]);
  });
});

describe("sign-in audit", () => {
  it("records sign-in, a failed one for a known email, sign-out; nothing for an unknown email", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "analyst");
    const failed = await call(
      "/dashboard/login",
      null,
      form({ email: user.email, password: "wrong password here" }, undefined, {
        "cf-connecting-ip": "203.0.113.5",
      }),
    );
    expect(failed.status).toBe(401);
    const unknown = await call(
      "/dashboard/login",
      null,
      form({ email: "nobody@example.com", password: "whatever it is" }),
    );
    expect(unknown.status).toBe(401);
    const session = await signIn(user);
    await call("/dashboard/logout", null, form({ csrf: session.csrf }, session.cookie));
    const page = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    const entries = page.data.reverse();
    expect(entries.map((e) => e.action)).toEqual([
      "session.sign_in_failed",
      "session.sign_in",
      "session.sign_out",
    ]);
    expect(entries[0]).toMatchObject({ actorId: user.id, target: user.id, ip: "203.0.113.5" });
    expect(entries[0]?.requestId).toMatch(/\S/);
  });
});

describe("the Account page's current-password check", () => {
  it("counts wrong current passwords under the sign-in limits", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "analyst");
    const here = await signIn(user);
    for (let i = 0; i < 3; i++) {
      const wrong = await post(here, "/dashboard/account/password", {
        current_password: `guess number ${i}`,
        new_password: "a brand new long secret",
      });
      expect(wrong.status).toBe(422);
      await wrong.body?.cancel();
    }
    const right = await post(here, "/dashboard/account/password", {
      current_password: user.password,
      new_password: "a brand new long secret",
    });
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toMatch(/^\d+$/);
    await right.body?.cancel();
  });
});
