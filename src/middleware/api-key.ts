/**
 * API-key authentication and the per-key request limit. Keys are looked up by their SHA-256 in an
 * isolate-local cache (db/api-key-lookup.ts), so a revoked key stops working, and a changed limit
 * applies, within its TTL everywhere (at once in the isolate that made the change). A suspended
 * tenant's keys are refused likewise: at once in the suspending isolate, within the TTL in others,
 * and at once everywhere for sending (the dispatcher refuses the outdated settings and the sender
 * reads them again: services/accounts/tenants `withCurrentSettings`).
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { lookUpKey } from "../db/api-key-lookup";
import type { Caller } from "../domain/caller";
import { grants, type Permission } from "../domain/permissions";
import { DEFAULT_RATE_LIMIT } from "../domain/rate-limits";
import { SUSPENDED_DETAIL } from "../domain/suspension";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/problem";
import { PLATFORM_KEY_PREFIX } from "./platform-key";
import { enforceRequestLimit } from "./rate-limit";
import { changesState, csrfMatches, isCrossSite, SESSION_COOKIE, sessionOf } from "./session";

const KEY_FORMAT = /^rbx_(live|test)_[A-Za-z0-9]{32}$/;
/**
 * `Bearer <token>` and nothing after it (RFC 6750 §2.1: one b64token). A header with more in it
 * is refused, not read in part: two credentials joined by a client or a proxy are not one key.
 */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * What a route is to a test key. Test keys send only through the sandbox (DESIGN.md, Contracts),
 * so, as in Stripe's test mode, one must never reach live traffic:
 * - `configuration` (the default): providers, routes, webhooks, WeChat apps, templates,
 *   signatures, sensitive words, contacts, auto-replies, the tenant's settings. Both modes share
 *   it, so changing it changes what live messages do: a test key may read it (GET) but not change it.
 * - `test-mode`: messages, batches, their events and API keys. Each row has a mode and the services
 *   keep a key to its own (a live message or key is a 404 to a test key), so a test key uses these.
 * - `query`: a POST that changes nothing (a preview, a text check).
 */
export type RouteKind = "configuration" | "test-mode" | "query";

const READS = new Set(["GET", "HEAD"]);

/**
 * SHA-256 of the keys this isolate has seen: a key's hash never changes, so every request after a
 * key's first finds its cache entry (db/api-key-lookup, which decides validity and revocation)
 * without a digest. Bounded like that cache: past MAX_HASHED it starts again empty.
 */
const MAX_HASHED = 10_000;
const keyHashes = new Map<string, string>();

async function hashNewKey(key: string): Promise<string> {
  const hash = await sha256Hex(key);
  if (keyHashes.size >= MAX_HASHED) {
    keyHashes.clear();
  }
  keyHashes.set(key, hash);
  return hash;
}

/**
 * A signed-in dashboard user calling the API with their session cookie (and no Authorization
 * header): they hold their role's permissions, see both modes as on the dashboard, and a change
 * must come from our own origin with the session's CSRF token in `X-CSRF-Token`, the header a
 * cross-site form cannot set. The default request limit applies per user.
 */
async function sessionCaller(c: Context<AppEnv>, scope: Permission): Promise<Caller> {
  const signedIn = await sessionOf(c);
  if (!signedIn) {
    throw new ApiError(
      "unauthenticated",
      "Your dashboard session has ended; sign in again, or send an API key as `Authorization: Bearer rbx_live_…`.",
      { headers: { "WWW-Authenticate": 'Bearer realm="relaybox"' } },
    );
  }
  const { session, caller } = signedIn;
  if (changesState(c.req.method)) {
    if (isCrossSite(c)) {
      throw new ApiError("forbidden", "Cross-site requests with a session are refused.");
    }
    if (!csrfMatches(session, c.req.header("x-csrf-token"))) {
      throw new ApiError(
        "forbidden",
        "A change made with a dashboard session needs its CSRF token in the X-CSRF-Token header.",
      );
    }
  }
  if (!grants(caller.scopes, scope)) {
    throw new ApiError("forbidden", `Your role lacks the \`${scope}\` permission.`);
  }
  enforceRequestLimit(caller.keyId, DEFAULT_RATE_LIMIT, Date.now());
  return caller;
}

/**
 * The permission each `requireScope` middleware asks for, keyed by the middleware itself: the app
 * reads it from its routes to write `x-permission` on every operation of the OpenAPI document
 * (routes/permission-doc.ts), so the document cannot say other than what is enforced.
 */
const PERMISSION_REQUIRED_BY = new WeakMap<object, Permission>();

/** The permission `handler` asks for, when it is a `requireScope` middleware. */
export function permissionRequiredBy(handler: unknown): Permission | undefined {
  return typeof handler === "function" ? PERMISSION_REQUIRED_BY.get(handler) : undefined;
}

export function requireScope(scope: Permission, kind: RouteKind = "configuration") {
  const middleware = createMiddleware<AppEnv>(async (c, next) => {
    const authorization = c.req.header("authorization");
    if (authorization === undefined && getCookie(c, SESSION_COOKIE) !== undefined) {
      c.set("caller", await sessionCaller(c, scope));
      await next();
      return;
    }
    const key = BEARER.exec(authorization ?? "")?.[1];
    if (!key) {
      throw new ApiError(
        "unauthenticated",
        "Send your API key as `Authorization: Bearer rbx_live_…`.",
        { headers: { "WWW-Authenticate": 'Bearer realm="relaybox"' } },
      );
    }
    const now = Date.now();
    const entry = KEY_FORMAT.test(key)
      ? await lookUpKey(c.env, keyHashes.get(key) ?? (await hashNewKey(key)), now)
      : { caller: null, revoked: false, rateLimit: null };
    if (!entry.caller || entry.revoked) {
      throw new ApiError(
        "unauthenticated",
        entry.revoked
          ? "This API key has been revoked."
          : key.startsWith(PLATFORM_KEY_PREFIX)
            ? "The platform key works only on /v1/platform/*; use one of the tenant's API keys."
            : "This API key is not valid.",
        { headers: { "WWW-Authenticate": 'Bearer realm="relaybox", error="invalid_token"' } },
      );
    }
    if (entry.caller.tenant.suspended) {
      throw new ApiError("tenant-suspended", SUSPENDED_DETAIL);
    }
    if (!grants(entry.caller.scopes, scope)) {
      throw new ApiError("forbidden", `This API key lacks the \`${scope}\` scope.`);
    }
    if (entry.caller.mode === "test" && kind === "configuration" && !READS.has(c.req.method)) {
      throw new ApiError(
        "forbidden",
        "Test keys cannot change configuration; use a live key (rbx_live_…).",
      );
    }
    // Only now, for a valid key with the scope: a 401 or 403 never spends a token.
    if (entry.rateLimit) {
      enforceRequestLimit(entry.caller.keyId, entry.rateLimit, now);
    }
    c.set("caller", {
      ...entry.caller,
      origin: { requestId: c.get("requestId"), ip: c.req.header("cf-connecting-ip") ?? null },
    });
    await next();
  });
  PERMISSION_REQUIRED_BY.set(middleware, scope);
  return middleware;
}
