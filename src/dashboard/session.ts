/**
 * Dashboard session and CSRF. Every form post must come from the dashboard's own pages (checked
 * by its Origin, or Referer); every page but the sign-in page needs a live session
 * (services/dashboard-auth), and forms that change anything must carry that session's CSRF token.
 */
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { userCallerKeyId } from "../domain/caller";
import { SUSPENDED_DETAIL } from "../domain/suspension";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError } from "../lib/problem";
import { readSession } from "../services/accounts/dashboard-auth";
import { loadTenant } from "../services/accounts/tenants";
import { readForm } from "./forms";

export const SESSION_COOKIE = "rbx_session";

const isPost = (method: string) => method !== "GET" && method !== "HEAD";

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a form post from another site, the sign-in form's included (login CSRF: signing the
 * victim's browser into the attacker's account). An `Origin` must be ours (`null`, sent from
 * sandboxed or privacy-sensitive contexts, is not); without one, a `Referer` must be ours. A post
 * with neither is let through: every current browser sends `Origin` with a cross-site form post
 * (Firefox since version 70), so such a post comes from no browser page that could ride a
 * victim's cookies: curl, scripts, the tests. Signed-in forms still need their CSRF token.
 */
export const sameOriginPosts = createMiddleware<AppEnv>(async (c, next) => {
  if (isPost(c.req.method)) {
    const own = new URL(c.req.url).origin;
    const origin = c.req.header("origin");
    const referer = c.req.header("referer");
    const from = origin ?? (referer === undefined ? own : originOf(referer));
    if (from !== own) {
      throw new ApiError("forbidden", "Cross-site form posts are refused.");
    }
  }
  await next();
});

export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  const token = getCookie(c, SESSION_COOKIE);
  const session = token ? await readSession(c.env, token) : undefined;
  const tenant = session ? await loadTenant(c.env, session.tenantId) : undefined;
  if (!session || !tenant) {
    return c.redirect("/dashboard/login", 303);
  }
  if (tenant.suspended) {
    throw new ApiError("tenant-suspended", SUSPENDED_DETAIL);
  }
  if (isPost(c.req.method)) {
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
    keyId: userCallerKeyId(session.userId),
    mode: "live",
    seesBothModes: true,
    scopes: session.permissions,
    tenant,
    origin: { requestId: c.get("requestId"), ip: c.req.header("cf-connecting-ip") ?? null },
  });
  await next();
});
