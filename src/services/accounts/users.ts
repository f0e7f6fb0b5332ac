/**
 * A tenant's users: invite, list, change role, disable, enable, remove (accepting an invitation
 * and changing one's own password are services/accounts/passwords). The API (`/v1/users`) and
 * the dashboard's Users page both call these, so each rule is written once:
 * - a role is a built-in one or a custom role (`rol_…`) of the same tenant (422 otherwise);
 * - nobody grants a role holding a permission they do not hold, nor changes a user who holds one
 *   (403): an `admin` key or user holds them all;
 * - only an owner (a signed-in user whose role is `owner`) makes or unmakes owners: not an
 *   `admin`, and not an API key, whatever its scopes, so a leaked key cannot take a tenant from
 *   its owners (403);
 * - a user cannot change their own role (403);
 * - the last active owner cannot be demoted, disabled or removed (409), checked before the batch
 *   and again inside it (`ownerRemains`), so two owners demoting each other at once cannot both win.
 * Every change runs in one audited batch with its entry. Any change of a user's row ends their
 * dashboard sessions (the trigger of migration 0013); removing the row deletes them.
 */
import { and, eq, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { roles, users } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import { actorOf, type Caller } from "../../domain/caller";
import {
  BUILT_IN_ROLES,
  grantsAll,
  isBuiltInRole,
  type Permission,
  permissionsOfRole,
} from "../../domain/permissions";
import type { UserStatus } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { unlessLost } from "../audit/change-guard";
import { invitationLink, prepareInvitation } from "./invitations";

type UserRow = typeof users.$inferSelect;

/** A user as the API and the dashboard show them: never the password's hash. */
export interface UserRecord {
  id: string;
  email: string;
  role: string;
  status: UserStatus;
  createdAt: number;
}

export const recordOf = (row: UserRow): UserRecord => ({
  id: row.id,
  email: row.email,
  role: row.role,
  status: row.status,
  createdAt: row.createdAt,
});

/**
 * Aborts the batch unless the tenant still has an active owner after the statements before it.
 * As in services/audit/change-guard (SQLite has no RAISE outside triggers), the guard evaluates
 * `json()` of a malformed text exactly when its condition fails; here the text is built from a
 * column, so that it is not folded into a constant.
 */
function ownerRemains(env: Env, tenantId: string) {
  return database(env.DB)
    .select({ guard: sql`CASE WHEN count(*) = 0 THEN json('{' || count(*)) END` })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.role, "owner"), eq(users.status, "active")));
}

const lastOwner = () =>
  new ApiError(
    "conflict",
    "This is the tenant's last active owner: make another user owner first.",
  );

/** What a role value holds, if it is one this tenant can assign; a 422 otherwise. */
async function permissionsOfAssignable(
  env: Env,
  tenantId: string,
  role: string,
): Promise<Permission[]> {
  if (isBuiltInRole(role)) {
    return permissionsOfRole(role);
  }
  const row = role.startsWith("rol_")
    ? await database(env.DB)
        .select({ permissions: roles.permissions })
        .from(roles)
        .where(and(eq(roles.id, role), eq(roles.tenantId, tenantId)))
        .get()
    : undefined;
  if (!row) {
    throw new ApiError("unprocessable-entity", `There is no role ${role} in this tenant.`, {
      errors: [{ pointer: "/role", detail: "must be a built-in role or one of your roles' ids" }],
    });
  }
  return permissionsOfRole(role, row.permissions);
}

/** The acting user's role, or null for an API key (or the platform). */
async function roleOfActor(env: Env, caller: Caller): Promise<string | null> {
  const actor = actorOf(caller);
  if (actor.type !== "user") {
    return null;
  }
  const row = await database(env.DB)
    .select({ role: users.role })
    .from(users)
    .where(and(eq(users.id, actor.id), eq(users.tenantId, caller.tenant.id)))
    .get();
  return row?.role ?? null;
}

async function assertMayGrant(env: Env, caller: Caller, role: string): Promise<void> {
  const wanted = await permissionsOfAssignable(env, caller.tenant.id, role);
  if (!grantsAll(caller.scopes, wanted)) {
    throw new ApiError("forbidden", `You cannot grant ${role}: it holds permissions you do not.`);
  }
  if (role === "owner" && (await roleOfActor(env, caller)) !== "owner") {
    throw new ApiError("forbidden", "Only an owner can make another user an owner.");
  }
}

/** The caller may change `target` only if they hold all it holds (and are an owner, for owners). */
async function assertMayManage(env: Env, caller: Caller, target: UserRow): Promise<void> {
  const held = await permissionsOfAssignable(env, caller.tenant.id, target.role).catch(
    () => [] as Permission[],
  );
  if (!grantsAll(caller.scopes, held)) {
    throw new ApiError(
      "forbidden",
      `You cannot change ${target.id}: their role holds more than yours.`,
    );
  }
  if (target.role === "owner" && (await roleOfActor(env, caller)) !== "owner") {
    throw new ApiError("forbidden", "Only an owner can change an owner.");
  }
}

async function findUser(env: Env, caller: Caller, id: string): Promise<UserRow> {
  const row = await database(env.DB).query.users.findFirst({
    where: and(eq(users.id, id), eq(users.tenantId, caller.tenant.id)),
  });
  if (!row) {
    throw new ApiError("not-found", `No user ${id}.`);
  }
  return row;
}

/** Whether `target` is an active owner and no other active owner exists. */
async function isLastOwner(env: Env, target: UserRow): Promise<boolean> {
  if (target.role !== "owner" || target.status !== "active") {
    return false;
  }
  const others = await database(env.DB)
    .select({ n: sql<number>`count(*)` })
    .from(users)
    .where(
      and(
        eq(users.tenantId, target.tenantId),
        eq(users.role, "owner"),
        eq(users.status, "active"),
        sql`${users.id} <> ${target.id}`,
      ),
    )
    .get();
  return (others?.n ?? 0) === 0;
}

/** Runs an audited change whose batch holds a guard; a failed guard is the given conflict. */
export function guarded<T>(run: () => Promise<T>, conflict: () => ApiError): Promise<T> {
  return unlessLost(run(), conflict);
}

export async function listUsers(
  env: Env,
  caller: Caller,
  page: PageRequest,
): Promise<Page<UserRecord>> {
  const paging = keyset(users.id, page);
  const rows = await database(env.DB)
    .select()
    .from(users)
    .where(and(eq(users.tenantId, caller.tenant.id), paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  const result = pageOf(rows, page, (row) => row.id);
  return { data: result.data.map(recordOf), nextCursor: result.nextCursor };
}

export async function getUser(env: Env, caller: Caller, id: string): Promise<UserRecord> {
  return recordOf(await findUser(env, caller, id));
}

export interface InvitedUser {
  user: UserRecord;
  invitationUrl: string;
  expiresAt: number;
}

/** Invites `email` as `role`; the link goes back to the inviter, to pass on (no mail is sent). */
export async function inviteUser(
  env: Env,
  caller: Caller,
  input: { email: string; role: string },
  publicOrigin: string,
  now: number = Date.now(),
): Promise<InvitedUser> {
  const email = input.email.trim().toLowerCase();
  await assertMayGrant(env, caller, input.role);
  const taken = await database(env.DB)
    .select({ id: users.id })
    .from(users)
    .where(eq(users.email, email))
    .get();
  const alreadyTaken = () =>
    new ApiError("conflict", "This email address already has an account.", {
      errors: [{ pointer: "/email", detail: "is taken" }],
    });
  if (taken) {
    throw alreadyTaken();
  }
  const { invitation, statements } = await prepareInvitation(
    env,
    { tenantId: caller.tenant.id, email, role: input.role, invitedBy: actorOf(caller).id },
    now,
  );
  try {
    await audited(
      env,
      caller,
      {
        action: "user.invite",
        target: invitation.userId,
        diff: diffOf({}, { email, role: input.role, invitation: invitation.id }),
      },
      statements,
    );
  } catch (error) {
    if (/UNIQUE constraint failed: users\.email/.test(String(error))) {
      throw alreadyTaken();
    }
    throw error;
  }
  return {
    user: { id: invitation.userId, email, role: input.role, status: "invited", createdAt: now },
    invitationUrl: invitationLink(new URL(publicOrigin).origin, invitation.token),
    expiresAt: invitation.expiresAt,
  };
}

export async function changeRole(
  env: Env,
  caller: Caller,
  id: string,
  role: string,
): Promise<UserRecord> {
  const target = await findUser(env, caller, id);
  if (actorOf(caller).type === "user" && actorOf(caller).id === target.id) {
    throw new ApiError("forbidden", "You cannot change your own role.");
  }
  await assertMayManage(env, caller, target);
  await assertMayGrant(env, caller, role);
  if (role === target.role) {
    return recordOf(target);
  }
  const demotesOwner = target.role === "owner" && target.status === "active";
  if (demotesOwner && (await isLastOwner(env, target))) {
    throw lastOwner();
  }
  const db = database(env.DB);
  const update = db
    .update(users)
    .set({ role })
    .where(and(eq(users.id, id), eq(users.tenantId, caller.tenant.id)));
  const event = {
    action: "user.role_change",
    target: id,
    diff: diffOf({ role: target.role }, { role }),
  };
  await guarded<unknown>(
    () =>
      demotesOwner
        ? audited(env, caller, event, [update, ownerRemains(env, caller.tenant.id)])
        : audited(env, caller, event, [update]),
    lastOwner,
  );
  return { ...recordOf(target), role };
}

/** Disables (signs out, and refuses sign-in) or enables a user; an invited user stays invited. */
export async function setUserEnabled(
  env: Env,
  caller: Caller,
  id: string,
  enabled: boolean,
): Promise<UserRecord> {
  const target = await findUser(env, caller, id);
  await assertMayManage(env, caller, target);
  const status: UserStatus = enabled ? "active" : "disabled";
  if (target.status === "invited") {
    throw new ApiError(
      "conflict",
      "This user has not accepted their invitation yet; remove them to withdraw it.",
    );
  }
  if (target.status === status) {
    return recordOf(target);
  }
  if (!enabled && (await isLastOwner(env, target))) {
    throw lastOwner();
  }
  const update = database(env.DB)
    .update(users)
    .set({ status })
    .where(and(eq(users.id, id), eq(users.tenantId, caller.tenant.id)));
  const event = {
    action: enabled ? "user.enable" : "user.disable",
    target: id,
    diff: diffOf({ status: target.status }, { status }),
  };
  await guarded<unknown>(
    () =>
      !enabled && target.role === "owner"
        ? audited(env, caller, event, [update, ownerRemains(env, caller.tenant.id)])
        : audited(env, caller, event, [update]),
    lastOwner,
  );
  return { ...recordOf(target), status };
}

/** Removes a user (an invited one too: that withdraws the invitation); their sessions go with them. */
export async function removeUser(env: Env, caller: Caller, id: string): Promise<void> {
  const target = await findUser(env, caller, id);
  await assertMayManage(env, caller, target);
  if (await isLastOwner(env, target)) {
    throw lastOwner();
  }
  const remove = database(env.DB)
    .delete(users)
    .where(and(eq(users.id, id), eq(users.tenantId, caller.tenant.id)));
  const event = {
    action: "user.remove",
    target: id,
    diff: diffOf({ email: target.email, role: target.role, status: target.status }, {}),
  };
  await guarded<unknown>(
    () =>
      target.role === "owner"
        ? audited(env, caller, event, [remove, ownerRemains(env, caller.tenant.id)])
        : audited(env, caller, event, [remove]),
    lastOwner,
  );
}

/** The roles this tenant can assign: the built-in ones, then its custom roles (for the forms). */
export async function assignableRoles(
  env: Env,
  tenantId: string,
): Promise<{ value: string; label: string }[]> {
  const custom = await database(env.DB)
    .select({ id: roles.id, name: roles.name })
    .from(roles)
    .where(eq(roles.tenantId, tenantId))
    .orderBy(roles.name);
  return [
    ...BUILT_IN_ROLES.map((role) => ({ value: role, label: role })),
    ...custom.map((role) => ({ value: role.id, label: role.name })),
  ];
}
