/**
 * Dashboard sign-in and sessions. A session is a row of `dashboard_sessions`, named by the SHA-256
 * of a random token that only the browser's HttpOnly, SameSite=Strict cookie holds. It carries its
 * own CSRF token for forms and the user's `session_version` at sign-in, which every request checks
 * against the user's row: signing out deletes the row, and any change of the user's row (a role,
 * a removal, later a password or a disabled flag; see the trigger in migration 0013) refuses
 * every session the user had, at once. That check is one D1 read per dashboard request, with no
 * isolate cache on purpose: a cached session would outlive its revocation, and the dashboard is
 * not the API's hot path.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { dashboardSessions, roles, users } from "../../db/schema";
import { lookUpSession } from "../../db/session-lookup";
import type { RequestOrigin, Session } from "../../domain/caller";
import { isBuiltInRole, type Permission, permissionsOfRole } from "../../domain/permissions";
import { signInAddress } from "../../domain/sign-in-throttle";
import {
  randomToken,
  sha256Hex,
  UNMATCHABLE_PASSWORD_HASH,
  verifyPassword,
} from "../../lib/crypto";
import { type AuditSource, audited } from "../audit/audit-log";
import {
  forgiveAttempt,
  pruneSignInAttempts,
  reserveAttempt,
  signInSource,
} from "./sign-in-throttle";

const SESSION_HOURS = 12;
export const SESSION_MAX_AGE_SECONDS = SESSION_HOURS * 3600;
const TOKEN_LENGTH = 43; // base62: 256 bits

export interface SignInAttempt {
  email: string;
  password: string;
  /** The client's IP (`CF-Connecting-IP`), absent in local runs. */
  ip: string | undefined;
  /** The request's id, for the audit log. */
  requestId?: string;
}

export interface SignInOptions {
  now?: number;
  /** The password check; tests pass one that counts its calls. */
  verifyPassword?: (password: string, storedHash: string) => Promise<boolean>;
}

/**
 * A session and its cookie token for the right email and password, or undefined for a wrong one;
 * throws the 429 that refuses an attempt over the limits (domain/sign-in-throttle) before any
 * password is checked. An unknown email takes the same path, PBKDF2 included, as a known one.
 */
export async function signIn(
  env: Env,
  attempt: SignInAttempt,
  options: SignInOptions = {},
): Promise<{ session: Session; token: string } | undefined> {
  const now = options.now ?? Date.now();
  const check = options.verifyPassword ?? verifyPassword;
  const email = attempt.email.trim().toLowerCase();
  const source = await signInSource(email, signInAddress(attempt.ip));
  await reserveAttempt(env.DB, source, now);
  const user = await database(env.DB).query.users.findFirst({ where: eq(users.email, email) });
  const ok = await check(attempt.password, user?.passwordHash ?? UNMATCHABLE_PASSWORD_HASH);
  if (!user) {
    // An unknown email has no tenant whose log it could go in, and writing one would let anyone
    // fill a log by guessing addresses.
    return undefined;
  }
  const by: AuditSource = {
    tenantId: user.tenantId,
    actor: { type: "user", id: user.id },
    origin: { requestId: attempt.requestId ?? "", ip: attempt.ip ?? null },
  };
  if (!ok || user.status !== "active") {
    await audited(env, by, { action: "session.sign_in_failed", target: user.id }, []);
    return undefined;
  }
  await forgiveAttempt(env.DB, source);
  const issued = await issueSession(env, user, now);
  await audited(env, by, { action: "session.sign_in", target: user.id }, [
    issued.statement(sql`${user.sessionVersion}`),
  ]);
  return { session: issued.session, token: issued.token };
}

/**
 * A new session (and its cookie token) for a user, and the insert that stores it with the user's
 * session version given (a value, or a subquery that reads it in the batch that changes the row).
 */
export async function issueSession(
  env: Env,
  user: { id: string; tenantId: string; email: string; role: string },
  now: number,
) {
  const token = randomToken(TOKEN_LENGTH);
  const session: Session = {
    id: await sha256Hex(token),
    userId: user.id,
    tenantId: user.tenantId,
    email: user.email,
    role: user.role,
    permissions: await permissionsOfUserRole(env, user.tenantId, user.role),
    csrf: randomToken(24),
  };
  const statement = (userVersion: SQL) =>
    database(env.DB)
      .insert(dashboardSessions)
      .values({
        id: session.id,
        userId: user.id,
        userVersion,
        csrf: session.csrf,
        createdAt: now,
        expiresAt: now + SESSION_MAX_AGE_SECONDS * 1000,
      });
  return { session, token, statement };
}

/** The session a cookie token names, if it is unexpired and its user's row has not changed. */
export async function readSession(
  env: Env,
  token: string,
  now: number = Date.now(),
): Promise<Session | undefined> {
  return (await lookUpSession(env, token, now))?.session;
}

/** What a role holds; a custom role's permissions are read from its row (of the user's tenant). */
export async function permissionsOfUserRole(
  env: Env,
  tenantId: string,
  role: string,
): Promise<Permission[]> {
  if (isBuiltInRole(role)) {
    return permissionsOfRole(role);
  }
  const row = await database(env.DB)
    .select({ permissions: roles.permissions })
    .from(roles)
    .where(and(eq(roles.id, role), eq(roles.tenantId, tenantId)))
    .get();
  return permissionsOfRole(role, row?.permissions);
}

/** Signs this one session out, server-side; the user's other sessions go on. */
export async function endSession(
  env: Env,
  session: Session,
  origin?: RequestOrigin,
): Promise<void> {
  await audited(
    env,
    { tenantId: session.tenantId, actor: { type: "user", id: session.userId }, origin },
    { action: "session.sign_out", target: session.userId },
    [database(env.DB).delete(dashboardSessions).where(eq(dashboardSessions.id, session.id))],
  );
}

/**
 * Ends every session of a user, at once. A change of the user's row does this by itself (the
 * trigger in migration 0013); call this to sign a user out everywhere with no other change.
 */
export async function bumpSessionVersion(env: Env, userId: string): Promise<void> {
  await database(env.DB)
    .update(users)
    .set({ sessionVersion: sql`${users.sessionVersion} + 1` })
    .where(eq(users.id, userId));
}

/** Housekeeping: sessions that can no longer sign anyone in, and attempts that no longer count. */
export async function pruneDashboardSignIns(env: Env, now: number = Date.now()): Promise<void> {
  await Promise.all([
    env.DB.prepare(
      `DELETE FROM dashboard_sessions WHERE expires_at <= ?
         OR user_version <> (SELECT session_version FROM users WHERE users.id = dashboard_sessions.user_id)`,
    )
      .bind(now)
      .run(),
    pruneSignInAttempts(env.DB, now),
  ]);
}
