/**
 * Setting a password: accepting an invitation (the invited user's first), and a signed-in user
 * changing their own. The rules for a password are domain/passwords; the hash is lib/crypto's
 * PBKDF2. Neither the password nor its hash leaves here, in a log, a diff or a response.
 */
import { and, eq, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { dashboardSessions, invitations, users } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller, RequestOrigin, Session } from "../../domain/caller";
import { passwordProblem } from "../../domain/passwords";
import { signInAddress } from "../../domain/sign-in-throttle";
import { hashPassword, verifyPassword } from "../../lib/crypto";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { issueSession } from "./dashboard-auth";
import { invitationIdOf } from "./invitations";
import { forgiveAttempt, reserveAttempt, signInSource } from "./sign-in-throttle";
import { guarded, recordOf, type UserRecord } from "./users";

/** Aborts the batch if the invitation was accepted already (two tabs accepting one link; see
 * GUARD_FAILED in ./users for how a guard aborts). */
function invitationUnused(env: Env, invitationId: string) {
  return database(env.DB)
    .select({
      guard: sql`CASE WHEN ${invitations.acceptedAt} IS NOT NULL THEN json('{' || ${invitations.acceptedAt}) END`,
    })
    .from(invitations)
    .where(eq(invitations.id, invitationId));
}

const badToken = () =>
  new ApiError("unprocessable-entity", "This invitation link is not valid or has expired.", {
    errors: [{ pointer: "/token", detail: "is not a valid, unexpired invitation" }],
  });

const usedInvitation = () =>
  new ApiError("conflict", "This invitation has been used already; sign in instead.");

function refusePassword(password: string, email: string, pointer: string): void {
  const problem = passwordProblem(password, email);
  if (problem) {
    throw new ApiError("unprocessable-entity", `The password ${problem}.`, {
      errors: [{ pointer, detail: problem }],
    });
  }
}

/** The invitation a link names, if it can still be accepted (for the page that shows it). */
export async function pendingInvitation(env: Env, token: string, now: number = Date.now()) {
  const id = await invitationIdOf(env, token, now);
  if (!id) {
    throw badToken();
  }
  const row = await database(env.DB)
    .select({
      id: invitations.id,
      tenantId: invitations.tenantId,
      expiresAt: invitations.expiresAt,
      acceptedAt: invitations.acceptedAt,
      userId: users.id,
      email: users.email,
      status: users.status,
    })
    .from(invitations)
    .innerJoin(users, eq(users.id, invitations.userId))
    .where(eq(invitations.id, id))
    .get();
  if (!row || row.expiresAt <= now) {
    throw badToken();
  }
  if (row.acceptedAt !== null || row.status !== "invited") {
    throw usedInvitation();
  }
  return row;
}

/** Sets the invited user's password and makes them active; each link works once. */
export async function acceptInvitation(
  env: Env,
  input: { token: string; password: string },
  origin?: RequestOrigin,
  now: number = Date.now(),
): Promise<UserRecord> {
  const invitation = await pendingInvitation(env, input.token, now);
  refusePassword(input.password, invitation.email, "/password");
  const passwordHash = await hashPassword(input.password);
  const db = database(env.DB);
  await guarded(
    () =>
      audited(
        env,
        {
          tenantId: invitation.tenantId,
          actor: { type: "user", id: invitation.userId },
          origin,
        },
        { action: "invitation.accept", target: invitation.id },
        [
          invitationUnused(env, invitation.id),
          db.update(invitations).set({ acceptedAt: now }).where(eq(invitations.id, invitation.id)),
          db
            .update(users)
            .set({ passwordHash, status: "active" })
            .where(and(eq(users.id, invitation.userId), eq(users.status, "invited"))),
        ],
      ),
    usedInvitation,
  );
  const user = await database(env.DB).query.users.findFirst({
    where: eq(users.id, invitation.userId),
  });
  if (!user) {
    throw usedInvitation();
  }
  return recordOf(user);
}

/**
 * A signed-in user changes their own password, knowing the current one (a 429 past the sign-in
 * limits, as signing in would be). The row's change ends
 * every session the user had (the trigger); this one goes on under a new token and CSRF token,
 * inserted in the same batch with the row's new session version.
 */
export async function changeOwnPassword(
  env: Env,
  caller: Caller,
  session: Session,
  input: { current: string; next: string },
  now: number = Date.now(),
): Promise<{ session: Session; token: string }> {
  const db = database(env.DB);
  const user = await db.query.users.findFirst({
    where: and(eq(users.id, session.userId), eq(users.tenantId, session.tenantId)),
  });
  if (!user) {
    throw new ApiError("not-found", "Your account no longer exists.");
  }
  // The current password is checked under the sign-in limits: a stolen session must not be a way
  // to guess it without them (and then keep the account).
  const source = await signInSource(user.email, signInAddress(caller.origin?.ip ?? undefined));
  await reserveAttempt(env.DB, source, now);
  if (!(await verifyPassword(input.current, user.passwordHash))) {
    throw new ApiError("unprocessable-entity", "The current password is wrong.", {
      errors: [{ pointer: "/current_password", detail: "is wrong" }],
    });
  }
  await forgiveAttempt(env.DB, source);
  refusePassword(input.next, user.email, "/new_password");
  const passwordHash = await hashPassword(input.next);
  const issued = await issueSession(env, user, now);
  await audited(
    env,
    caller,
    {
      action: "user.password_change",
      target: user.id,
      diff: diffOf({ password: "old" }, { password: "new" }, ["password"]),
    },
    [
      db.update(users).set({ passwordHash }).where(eq(users.id, user.id)),
      db.delete(dashboardSessions).where(eq(dashboardSessions.id, session.id)),
      issued.statement(sql`(SELECT session_version FROM users WHERE id = ${user.id})`),
    ],
  );
  return { session: issued.session, token: issued.token };
}
