import { env } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { roles } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { acceptInvitation } from "../../src/services/accounts/passwords";
import { expectProblem } from "../support/problem";
import { createTenant, postJson } from "../support/tenants";
import { accept, GOOD_PASSWORD, invite } from "../support/users";

async function customRole(tenantId: string, permissions: string[]) {
  const id = newId("rol");
  const now = Date.now();
  await database(env.DB)
    .insert(roles)
    .values({ id, tenantId, name: `role ${id}`, permissions, createdAt: now, updatedAt: now });
  return id;
}

describe("/v1/users refuses bad input", () => {
  it("refuses a role that is neither built in nor this tenant's", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const theirs = await customRole(other.id, ["messages:read"]);
    for (const role of ["superuser", theirs]) {
      const res = await tenant.api("/v1/users", postJson({ email: "x@example.com", role }));
      await expectProblem(res, {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/users",
        pointers: ["/role"],
      });
    }
    const mine = await customRole(tenant.id, ["messages:read"]);
    const res = await tenant.api("/v1/users", postJson({ email: "x@example.com", role: mine }));
    expect(res.status).toBe(201);
  });

  it("refuses a malformed body with a 400 and an email already taken with a 409", async () => {
    const tenant = await createTenant();
    const bad = await tenant.api(
      "/v1/users",
      postJson({ email: "not an email", role: "analyst", extra: 1 }),
    );
    await expectProblem(bad, { status: 400, slug: "validation-error", instance: "/v1/users" });
    const invited = await invite(tenant, "analyst");
    const again = await tenant.api(
      "/v1/users",
      postJson({ email: invited.user.email, role: "analyst" }),
    );
    await expectProblem(again, { status: 409, slug: "conflict", instance: "/v1/users" });
  });

  it("refuses a weak password, and the link still works after", async () => {
    const tenant = await createTenant();
    const invited = await invite(tenant, "analyst");
    for (const password of ["short", "Password1234", invited.user.email]) {
      const res = await accept(invited.token, password);
      await expectProblem(res, {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/invitations/accept",
        pointers: ["/password"],
      });
    }
    expect((await accept(invited.token)).status).toBe(200);
  });

  it("accepts an invitation once", async () => {
    const tenant = await createTenant();
    const invited = await invite(tenant, "analyst");
    expect((await accept(invited.token)).status).toBe(200);
    const second = await accept(invited.token, "another fine long password");
    await expectProblem(second, {
      status: 409,
      slug: "conflict",
      instance: "/v1/invitations/accept",
    });
  });

  it("refuses two acceptances of one link racing each other but one", async () => {
    const tenant = await createTenant();
    const invited = await invite(tenant, "analyst");
    const results = await Promise.all([
      accept(invited.token),
      accept(invited.token, "another fine long password"),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it("refuses an invitation after 7 days", async () => {
    const tenant = await createTenant();
    const invited = await invite(tenant, "analyst");
    const later = Date.parse(invited.invitation_expires_at) + 1000;
    await expect(
      acceptInvitation(env, { token: invited.token, password: GOOD_PASSWORD }, undefined, later),
    ).rejects.toMatchObject({ status: 422 });
    const justBefore = Date.parse(invited.invitation_expires_at) - 60_000;
    await expect(
      acceptInvitation(
        env,
        { token: invited.token, password: GOOD_PASSWORD },
        undefined,
        justBefore,
      ),
    ).resolves.toMatchObject({ status: "active" });
  });

  it("refuses a forged or altered token", async () => {
    const tenant = await createTenant();
    const invited = await invite(tenant, "analyst");
    const [header, payload] = invited.token.split(".");
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setJti(JSON.parse(atob((payload ?? "").replace(/-/g, "+").replace(/_/g, "/"))).jti)
      .setAudience("relaybox:invitation")
      .setExpirationTime("1d")
      .sign(new TextEncoder().encode("not the server's key, but 32 bytes long"));
    for (const token of [forged, `${header}.${payload}.AAAA`, "garbage"]) {
      const res = await accept(token);
      await expectProblem(res, {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/invitations/accept",
        pointers: ["/token"],
      });
    }
  });

  it("refuses to disable a user who has not accepted yet", async () => {
    const tenant = await createTenant();
    const invited = await invite(tenant, "analyst");
    const res = await tenant.api(`/v1/users/${invited.user.id}/disable`, { method: "POST" });
    await expectProblem(res, {
      status: 409,
      slug: "conflict",
      instance: `/v1/users/${invited.user.id}/disable`,
    });
  });
});
