import { describe, expect, it } from "vitest";
import { ROLE_PERMISSIONS } from "../../src/domain/permissions";
import { signIn } from "../support/dashboard";
import { call, createTenant, postJson } from "../support/tenants";
import { accept, auditActions, GOOD_PASSWORD, invite } from "../support/users";

describe("/v1/users", () => {
  it("invites a user with a 7-day link that, once accepted, signs them in", async () => {
    const tenant = await createTenant();
    const before = Date.now();
    const invited = await invite(tenant, "analyst", "Ada.Lovelace@Example.com");
    expect(invited.user).toMatchObject({
      email: "ada.lovelace@example.com",
      role: "analyst",
      status: "invited",
    });
    expect(invited.invitation_url).toMatch(/^http:\/\/127\.0\.0\.1:8787\/dashboard\/invitations\//);
    const expires = Date.parse(invited.invitation_expires_at);
    expect(expires - before).toBeGreaterThanOrEqual(7 * 86_400_000 - 1000);
    expect(expires - before).toBeLessThanOrEqual(7 * 86_400_000 + 60_000);

    const accepted = await accept(invited.token);
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { user: { status: string } }).user.status).toBe("active");
    const session = await signIn({
      id: invited.user.id,
      email: invited.user.email,
      password: GOOD_PASSWORD,
    });
    expect(session.page).toContain("Signed in as ada.lovelace@example.com");
    expect(await auditActions(tenant.id)).toEqual([
      "user.invite",
      "invitation.accept",
      "session.sign_in",
    ]);
  });

  it("lists, reads, changes the role of, disables, enables and removes a user", async () => {
    const tenant = await createTenant();
    const first = await invite(tenant, "analyst");
    const second = await invite(tenant, "reviewer");
    await accept(second.token);

    const list = (await (await tenant.api("/v1/users?limit=1")).json()) as {
      data: { id: string }[];
      next_cursor: string | null;
    };
    expect(list.data.map((u) => u.id)).toEqual([second.user.id]);
    const rest = (await (await tenant.api(`/v1/users?cursor=${list.next_cursor}`)).json()) as {
      data: { id: string }[];
      next_cursor: string | null;
    };
    expect(rest).toMatchObject({ data: [{ id: first.user.id }], next_cursor: null });

    const one = await tenant.api(`/v1/users/${second.user.id}`);
    const body = (await one.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["created_at", "email", "id", "role", "status"]);

    const patched = await tenant.api(`/v1/users/${second.user.id}`, {
      method: "PATCH",
      body: JSON.stringify({ role: "operator" }),
    });
    expect(((await patched.json()) as { role: string }).role).toBe("operator");
    const disabled = await tenant.api(`/v1/users/${second.user.id}/disable`, { method: "POST" });
    expect(((await disabled.json()) as { status: string }).status).toBe("disabled");
    const enabled = await tenant.api(`/v1/users/${second.user.id}/enable`, { method: "POST" });
    expect(((await enabled.json()) as { status: string }).status).toBe("active");
    const removed = await tenant.api(`/v1/users/${first.user.id}`, { method: "DELETE" });
    expect(removed.status).toBe(204);
    expect((await tenant.api(`/v1/users/${first.user.id}`)).status).toBe(404);
    // The removed user's invitation went with them.
    expect((await accept(first.token)).status).toBe(422);

    expect(await auditActions(tenant.id)).toEqual([
      "user.invite",
      "user.invite",
      "invitation.accept",
      "user.role_change",
      "user.disable",
      "user.enable",
      "user.remove",
    ]);
  });

  it("lets a key holding exactly a role's permissions grant it", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["users:read", "users:write", ...ROLE_PERMISSIONS.analyst]);
    const res = await call("/v1/users", key, {
      method: "POST",
      body: JSON.stringify({ email: "an@example.com", role: "analyst" }),
    });
    expect(res.status).toBe(201);
  });
});

describe("POST /v1/users with an Idempotency-Key", () => {
  it("invites once, and a replay answers the record without the link", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const body = { email: "once@example.com", role: "analyst" };
    const first = await tenant.api("/v1/users", postJson(body, headers));
    expect(first.status).toBe(201);
    const made = (await first.json()) as { user: { id: string }; invitation_url: string | null };
    expect(made.invitation_url).toMatch(/\/dashboard\/invitations\//);
    const again = await tenant.api("/v1/users", postJson(body, headers));
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual({ ...made, invitation_url: null });
    const other = await tenant.api("/v1/users", postJson({ ...body, role: "agent" }, headers));
    expect(other.status).toBe(422);
    const list = (await (await tenant.api("/v1/users")).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
  });
});
