/**
 * Dashboard session and CSRF. Every form post must come from the dashboard's own pages (checked
 * by its Origin, or Referer); every page but the sign-in page needs a live session
 * (services/dashboard-auth), and forms that change anything must carry that session's CSRF token.
 */
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { ApiError } from "../lib/problem";
import {
  changesState,
  csrfMatches,
  isCrossSite,
  SESSION_COOKIE,
  sessionOf,
} from "../middleware/session";
import { SESSION_MAX_AGE_SECONDS } from "../services/accounts/dashboard-auth";
import { readForm } from "./forms";

/**
 * Refuses a form post from another site, the sign-in form's included (login CSRF: signing the
 * victim's browser into the attacker's account). An `Origin` must be ours (`null`, sent from
 * sandboxed or privacy-sensitive contexts, is not); without one, a `Referer` must be ours. A post
 * with neither is let through: every current browser sends `Origin` with a cross-site form post
 * (Firefox since version 70), so such a post comes from no browser page that could ride a
 * victim's cookies: curl, scripts, the tests. Signed-in forms still need their CSRF token.
 */
export const sameOriginPosts = createMiddleware<AppEnv>(async (c, next) => {
  if (changesState(c.req.method) && isCrossSite(c)) {
    throw new ApiError("forbidden", "Cross-site form posts are refused.");
  }
  await next();
});

export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  const signedIn = await sessionOf(c);
  if (!signedIn) {
    return c.redirect("/dashboard/login", 303);
  }
  if (changesState(c.req.method)) {
    const form = await readForm(c);
    if (!csrfMatches(signedIn.session, form.csrf)) {
      throw new ApiError(
        "forbidden",
        "The form's CSRF token is missing or wrong; reload the page.",
      );
    }
  }
  c.set("session", signedIn.session);
  c.set("caller", signedIn.caller);
  await next();
});

/**
 * Hands the browser its session cookie. Its path is the whole site, so that the dashboard's pages
 * can call the API with it too (middleware/api-key: with the X-CSRF-Token header for changes).
 */
export function setSessionCookie(c: Context<AppEnv>, token: string): void {
  // A cookie set before it covered the whole site (path /dashboard) would be sent first on the
  // dashboard's pages, ahead of this one, and sign the browser out again: it goes.
  deleteCookie(c, SESSION_COOKIE, { path: "/dashboard" });
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    secure: new URL(c.req.url).protocol === "https:",
    path: "/",
    maxAge: SESSION_MAX_AGE_SECONDS,
  });
}

/** Drops the cookie (and one set before it covered the whole site, under /dashboard). */
export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
  deleteCookie(c, SESSION_COOKIE, { path: "/dashboard" });
}
