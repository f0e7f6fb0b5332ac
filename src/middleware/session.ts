/**
 * A signed-in dashboard user as a caller, for the dashboard's pages and for the API alike: the
 * session cookie (HttpOnly, SameSite=Strict) names a row of `dashboard_sessions`
 * (db/session-lookup), and the user holds their role's permissions. A request that changes
 * anything must also come from our own origin and carry the session's CSRF token (a form field on
 * the dashboard's pages, the `X-CSRF-Token` header on the API).
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import { lookUpSession } from "../db/session-lookup";
import { type Caller, type Session, userCallerKeyId } from "../domain/caller";
import { SUSPENDED_DETAIL } from "../domain/suspension";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError } from "../lib/problem";

export const SESSION_COOKIE = "rbx_session";

export const changesState = (method: string) => method !== "GET" && method !== "HEAD";

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether a request comes from another site. An `Origin` must be ours (`null`, sent from
 * sandboxed or privacy-sensitive contexts, is not); without one, a `Referer` must be ours. A
 * request with neither is not cross-site: every current browser sends `Origin` with a cross-site
 * post (Firefox since version 70), so it comes from no page that could ride a victim's cookies.
 */
export function isCrossSite(c: Context<AppEnv>): boolean {
  const own = new URL(c.req.url).origin;
  const origin = c.req.header("origin");
  const referer = c.req.header("referer");
  const from = origin ?? (referer === undefined ? own : originOf(referer));
  return from !== own;
}

/** The session the request's cookie names and its caller; undefined when there is none. */
export async function sessionOf(
  c: Context<AppEnv>,
): Promise<{ session: Session; caller: Caller } | undefined> {
  const token = getCookie(c, SESSION_COOKIE);
  const found = token ? await lookUpSession(c.env, token) : undefined;
  if (!found) {
    return undefined;
  }
  const { session, tenant } = found;
  if (tenant.suspended) {
    throw new ApiError("tenant-suspended", SUSPENDED_DETAIL);
  }
  return {
    session,
    caller: {
      keyId: userCallerKeyId(session.userId),
      mode: "live",
      seesBothModes: true,
      scopes: session.permissions,
      tenant,
      origin: { requestId: c.get("requestId"), ip: c.req.header("cf-connecting-ip") ?? null },
    },
  };
}

/** Whether `presented` is the session's CSRF token. */
export function csrfMatches(session: Session, presented: unknown): boolean {
  return typeof presented === "string" && timingSafeEqual(presented, session.csrf);
}
