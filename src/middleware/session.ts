/**
 * Dashboard session: a signed cookie, checked on every page; forms that change anything must carry
 * the session's CSRF token (and, when the browser sends one, a same-origin Origin header).
 */
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { scopesOfRole } from "../domain/roles";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError } from "../lib/problem";
import { readSessionToken } from "../services/dashboard-auth";
import { loadTenant } from "../services/tenants";
import type { AppEnv } from "./context";
import { readForm } from "./forms";

export const SESSION_COOKIE = "rbx_session";

export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  const token = getCookie(c, SESSION_COOKIE);
  const session = token ? await readSessionToken(c.env, token) : undefined;
  const tenant = session ? await loadTenant(c.env, session.tenantId) : undefined;
  if (!session || !tenant) {
    return c.redirect("/dashboard/login", 303);
  }
  if (c.req.method !== "GET" && c.req.method !== "HEAD") {
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(c.req.url).origin) {
      throw new ApiError("forbidden", "Cross-site form posts are refused.");
    }
    const form = await readForm(c);
    if (typeof form.csrf !== "string" || !timingSafeEqual(form.csrf, session.csrf)) {
      throw new ApiError(
        "forbidden",
        "The form's CSRF token is missing or wrong; reload the page.",
      );
    }
  }
  c.set("session", session);
  c.set("caller", {
    keyId: `user:${session.userId}`,
    mode: "live",
    seesBothModes: true,
    scopes: scopesOfRole(session.role),
    tenant,
  });
  await next();
});
