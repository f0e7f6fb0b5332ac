/** Dashboard users, form posts and signed-in sessions for the dashboard tests. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { database } from "../../src/db/client";
import { users } from "../../src/db/schema";
import type { BuiltInRole as Role } from "../../src/domain/permissions";
import { hashPassword } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { call, type TestTenant } from "./tenants";

export interface TestUser {
  id: string;
  email: string;
  password: string;
}

export async function addUser(tenant: TestTenant, role: Role): Promise<TestUser> {
  const id = newId("usr");
  const email = `${role}-${id.slice(-8).toLowerCase()}@example.com`;
  const password = "correct horse battery staple";
  await database(env.DB)
    .insert(users)
    .values({
      id,
      tenantId: tenant.id,
      email,
      passwordHash: await hashPassword(password),
      role,
      createdAt: Date.now(),
    });
  return { id, email, password };
}

/** A urlencoded form post, with the session cookie and any other headers given. */
export function form(
  fields: Record<string, string>,
  cookie?: string,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: "POST",
    body: new URLSearchParams(fields).toString(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(cookie ? { cookie } : {}),
      ...headers,
    },
  };
}

/** The `name=value` of the session cookie a response sets (not one it deletes). */
export function sessionCookieOf(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => /^rbx_session=[^;]/.test(c));
  return set?.split(";")[0] ?? "";
}

/** Signs a user in through the login form; returns the cookie and the CSRF token of its page. */
export async function signIn(user: TestUser) {
  const res = await call(
    "/dashboard/login",
    null,
    form({ email: user.email, password: user.password }),
  );
  expect(res.status).toBe(303);
  const cookie = sessionCookieOf(res);
  expect(cookie).toMatch(/^rbx_session=/);
  const page = await (await call("/dashboard", null, { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  return { cookie, csrf, page };
}

export async function signedIn(tenant: TestTenant, role: Role) {
  const user = await addUser(tenant, role);
  return { user, ...(await signIn(user)) };
}
