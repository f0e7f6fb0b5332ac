/**
 * Issue 14's walk-through, as a new user would make it: the platform admin creates a tenant, its
 * owner accepts the invitation and signs in, invites an analyst and a custom "campaign manager";
 * each of them signs in and uses the API with their dashboard session. The analyst cannot create
 * a key, the campaign manager can create a batch; every step is in the audit log, which verifies
 * until one entry is altered in D1.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signIn } from "../support/dashboard";
import { platformTenant } from "../support/platform";
import { call, postJson } from "../support/tenants";
import { GOOD_PASSWORD } from "../support/users";

interface Signed {
  cookie: string;
  csrf: string;
}

/** A call to the API with a dashboard session; a change carries the CSRF token. */
function asUser(user: Signed, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("cookie", user.cookie);
  if (init.method && init.method !== "GET") {
    headers.set("x-csrf-token", user.csrf);
  }
  return call(path, null, { ...init, headers });
}

const tokenOf = (url: string) => decodeURIComponent(url.split("/dashboard/invitations/")[1] ?? "");

async function acceptAndSignIn(invitationUrl: string, email: string): Promise<Signed> {
  const accepted = await call(
    "/v1/invitations/accept",
    null,
    postJson({ token: tokenOf(invitationUrl), password: GOOD_PASSWORD }),
  );
  expect(accepted.status).toBe(200);
  return signIn({ id: "", email, password: GOOD_PASSWORD });
}

describe("a second tenant, its people and its audit log", () => {
  it("runs from the platform admin's command to a tampered entry found", async () => {
    const ownerEmail = `owner-${crypto.randomUUID()}@acme.test`;
    const created = await platformTenant({ name: "Acme", owner_email: ownerEmail });
    const tenantId = created.tenant.id;
    const owner = await acceptAndSignIn(created.owner.invitation_url ?? "", ownerEmail);

    const role = await asUser(owner, "/v1/roles", {
      ...postJson({
        name: "campaign manager",
        permissions: ["templates:read", "templates:write", "messages:send", "messages:read"],
      }),
    });
    expect(role.status).toBe(201);
    const roleId = ((await role.json()) as { id: string }).id;

    const invite = async (email: string, roleName: string) => {
      const res = await asUser(owner, "/v1/users", postJson({ email, role: roleName }));
      expect(res.status).toBe(201);
      const body = (await res.json()) as { invitation_url: string };
      return acceptAndSignIn(body.invitation_url, email);
    };
    const analyst = await invite(`analyst-${crypto.randomUUID()}@acme.test`, "analyst");
    const manager = await invite(`manager-${crypto.randomUUID()}@acme.test`, roleId);

    const key = await asUser(analyst, "/v1/keys", postJson({ name: "mine", scopes: ["admin"] }));
    expect(key.status).toBe(403);
    expect(key.headers.get("content-type")).toContain("application/problem+json");
    expect(await key.text()).toContain("`admin`");
    expect((await asUser(analyst, "/v1/messages")).status).toBe(200);

    const batch = await asUser(
      manager,
      "/v1/batches",
      postJson({ body: "Store closes at 6 today", recipients: [{ to: "+14155550100" }] }),
    );
    expect(batch.status).toBe(202);
    const noCsrf = await call("/v1/batches", null, {
      ...postJson({ body: "again", recipients: [{ to: "+14155550100" }] }),
      headers: { cookie: manager.cookie },
    });
    expect(noCsrf.status).toBe(403);

    const log = await asUser(owner, "/v1/audit?limit=100");
    expect(log.status).toBe(200);
    const actions = ((await log.json()) as { data: { action: string }[] }).data
      .map((e) => e.action)
      .reverse();
    expect(actions).toEqual(
      expect.arrayContaining([
        "tenant.create",
        "invitation.accept",
        "session.sign_in",
        "role.create",
        "user.invite",
      ]),
    );
    expect(actions[0]).toBe("tenant.create");
    expect(actions.filter((a) => a === "user.invite")).toHaveLength(2);

    const verified = async () =>
      (await (await asUser(owner, "/v1/audit/verify")).json()) as {
        valid: boolean;
        entries: number;
        first_broken_at?: string;
      };
    const before = await verified();
    expect(before).toMatchObject({ valid: true, entries: actions.length });

    const victim = await env.DB.prepare(
      "SELECT id FROM audit_entries WHERE tenant_id = ? AND action = 'role.create'",
    )
      .bind(tenantId)
      .first<{ id: string }>();
    await env.DB.prepare("UPDATE audit_entries SET actor_id = 'someone-else' WHERE id = ?")
      .bind(victim?.id)
      .run();
    const after = await verified();
    expect(after.valid).toBe(false);
    expect(after.first_broken_at).toBe(victim?.id);
  });
});
