/**
 * Roles: the built-in ones (the matrix in domain/permissions, read-only) and a tenant's custom
 * roles (`rol_…`), each a named set of permissions. Every change goes through the audit log in the
 * batch that makes it. A caller names only permissions it holds itself, so a role is never a way
 * to more than its maker has. A custom role's permissions are read with each session
 * (dashboard-auth's readSession joins them), so a change applies to its users at once.
 */
import { and, asc, eq, exists } from "drizzle-orm";
import { database } from "../../db/client";
import { roles, users } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import {
  BUILT_IN_ROLES,
  grantsAll,
  isBuiltInRole,
  PERMISSIONS,
  type Permission,
  ROLE_PERMISSIONS,
} from "../../domain/permissions";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";

export interface Role {
  /** A built-in role's name, or a custom role's `rol_…` id. */
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
  builtIn: boolean;
  /** Null for a built-in role. */
  createdAt: number | null;
  updatedAt: number | null;
}

type RoleRow = typeof roles.$inferSelect;

const BUILT_IN_DESCRIPTIONS: { readonly [role in (typeof BUILT_IN_ROLES)[number]]: string } = {
  owner: "The tenant's owner: everything",
  admin: "System admin: everything",
  operator: "Operations admin: messages, batches, templates and content; sees the users",
  marketer: "Marketing admin: templates, batches and mass sends",
  analyst: "Reads messages, templates and content, and the statistics",
  agent: "Service agent: the conversations assigned to them",
  inspector: "Quality inspection: reads conversations and scores them",
  reviewer: "Reviews templates and signatures; keeps the sensitive words",
};

export const builtInRoles = (): Role[] =>
  BUILT_IN_ROLES.map((name) => ({
    id: name,
    name,
    description: BUILT_IN_DESCRIPTIONS[name],
    permissions: [...ROLE_PERMISSIONS[name]],
    builtIn: true,
    createdAt: null,
    updatedAt: null,
  }));

function customRole(row: RoleRow): Role {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    permissions: row.permissions.filter((p): p is Permission =>
      (PERMISSIONS as readonly string[]).includes(p),
    ),
    builtIn: false,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The built-in roles first, in the matrix's order, then the tenant's own, oldest first. */
export async function listRoles(env: Env, caller: Caller): Promise<Role[]> {
  const rows = await database(env.DB)
    .select()
    .from(roles)
    .where(eq(roles.tenantId, caller.tenant.id))
    .orderBy(asc(roles.id));
  return [...builtInRoles(), ...rows.map(customRole)];
}

async function findCustomRole(env: Env, caller: Caller, id: string): Promise<RoleRow> {
  const row = await database(env.DB)
    .select()
    .from(roles)
    .where(and(eq(roles.id, id), eq(roles.tenantId, caller.tenant.id)))
    .get();
  if (!row) {
    throw new ApiError("not-found", `No role ${id}.`);
  }
  return row;
}

export async function getRole(env: Env, caller: Caller, id: string): Promise<Role> {
  if (isBuiltInRole(id)) {
    return builtInRoles().find((role) => role.id === id) as Role;
  }
  return customRole(await findCustomRole(env, caller, id));
}

export interface RoleInput {
  name: string;
  description?: string;
  permissions: string[];
}

/** Known permissions only (422 naming each unknown one), each once, in the matrix's order. */
function checkedPermissions(permissions: readonly string[]): Permission[] {
  const unknown = permissions.flatMap((p, index) =>
    (PERMISSIONS as readonly string[]).includes(p) ? [] : [{ p, index }],
  );
  if (unknown.length > 0) {
    throw new ApiError(
      "unprocessable-entity",
      `Unknown permission: ${unknown.map(({ p }) => `\`${p}\``).join(", ")}. GET /v1/permissions lists them.`,
      {
        errors: unknown.map(({ p, index }) => ({
          pointer: `/permissions/${index}`,
          detail: `unknown permission \`${p}\``,
        })),
      },
    );
  }
  return PERMISSIONS.filter((p) => permissions.includes(p));
}

/** A caller grants no more than it holds. */
function checkHeld(caller: Caller, permissions: readonly Permission[]): void {
  if (!grantsAll(caller.scopes, permissions)) {
    const missing = permissions.filter((p) => !grantsAll(caller.scopes, [p]));
    throw new ApiError(
      "forbidden",
      `You cannot grant permissions you do not hold: ${missing.map((p) => `\`${p}\``).join(", ")}.`,
    );
  }
}

function checkName(name: string): void {
  if (isBuiltInRole(name.toLowerCase())) {
    throw new ApiError(
      "conflict",
      `\`${name}\` is the name of a built-in role; choose another name.`,
    );
  }
}

const NAME_TAKEN = /UNIQUE constraint failed: roles\.tenant_id, roles\.name/;

function nameTaken(error: unknown, name: string): never {
  const cause = error instanceof Error ? error.cause : undefined;
  if (NAME_TAKEN.test(String(error)) || NAME_TAKEN.test(String(cause))) {
    throw new ApiError("conflict", `A role named \`${name}\` exists already.`);
  }
  throw error;
}

/** What an audit entry shows of a role. */
const auditedFields = (role: Pick<RoleRow, "name" | "description" | "permissions">) => ({
  name: role.name,
  description: role.description,
  permissions: role.permissions,
});

export async function createRole(
  env: Env,
  caller: Caller,
  input: RoleInput,
  now: number = Date.now(),
): Promise<Role> {
  checkName(input.name);
  const permissions = checkedPermissions(input.permissions);
  checkHeld(caller, permissions);
  const row: RoleRow = {
    id: newId("rol", now),
    tenantId: caller.tenant.id,
    name: input.name,
    description: input.description ?? "",
    permissions,
    createdAt: now,
    updatedAt: now,
  };
  await audited(
    env,
    caller,
    { action: "role.create", target: row.id, diff: diffOf({}, auditedFields(row)) },
    [database(env.DB).insert(roles).values(row)],
  ).catch((error: unknown) => nameTaken(error, input.name));
  return customRole(row);
}

function refuseBuiltIn(id: string, verb: string): void {
  if (isBuiltInRole(id)) {
    throw new ApiError(
      "conflict",
      `\`${id}\` is a built-in role and cannot be ${verb}; create a custom role instead.`,
    );
  }
}

export async function updateRole(
  env: Env,
  caller: Caller,
  id: string,
  changes: Partial<RoleInput>,
  now: number = Date.now(),
): Promise<Role> {
  refuseBuiltIn(id, "edited");
  const before = await findCustomRole(env, caller, id);
  if (changes.name !== undefined) {
    checkName(changes.name);
  }
  const after: RoleRow = {
    ...before,
    name: changes.name ?? before.name,
    description: changes.description ?? before.description,
    permissions:
      changes.permissions === undefined
        ? before.permissions
        : checkedPermissions(changes.permissions),
    updatedAt: now,
  };
  // The role as it will be must be within the caller's own permissions.
  checkHeld(caller, customRole(after).permissions);
  const diff = diffOf(auditedFields(before), auditedFields(after));
  if (Object.keys(diff).length === 0) {
    return customRole(before);
  }
  await audited(env, caller, { action: "role.update", target: id, diff }, [
    database(env.DB)
      .update(roles)
      .set({
        name: after.name,
        description: after.description,
        permissions: after.permissions,
        updatedAt: now,
      })
      .where(and(eq(roles.id, id), eq(roles.tenantId, caller.tenant.id))),
  ]).catch((error: unknown) => nameTaken(error, after.name));
  return customRole(after);
}

/**
 * A statement that fails when a user of the tenant has the role: it copies the role's row onto
 * itself, which its unique indexes refuse. Run in the batch that deletes the role, it rolls the
 * deletion (and its audit entry) back when a user was given the role after it was read, so a
 * role in use is never deleted, however the requests interleave.
 */
function failIfInUse(env: Env, tenantId: string, id: string) {
  const db = database(env.DB);
  const holders = db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.role, id)));
  return db.insert(roles).select(
    db
      .select()
      .from(roles)
      .where(and(eq(roles.id, id), exists(holders))),
  );
}

/** The copy breaks a unique index of `roles` (which one SQLite names first varies). */
const IN_USE = /UNIQUE constraint failed: roles\./;

export async function deleteRole(env: Env, caller: Caller, id: string): Promise<void> {
  refuseBuiltIn(id, "deleted");
  const role = await findCustomRole(env, caller, id);
  const db = database(env.DB);
  await audited(
    env,
    caller,
    { action: "role.delete", target: id, diff: diffOf(auditedFields(role), {}) },
    [
      failIfInUse(env, caller.tenant.id, id),
      db.delete(roles).where(and(eq(roles.id, id), eq(roles.tenantId, caller.tenant.id))),
    ],
  ).catch((error: unknown) => {
    const cause = error instanceof Error ? error.cause : undefined;
    if (IN_USE.test(String(error)) || IN_USE.test(String(cause))) {
      throw new ApiError(
        "conflict",
        `Role ${id} is in use: give its users another role before deleting it.`,
      );
    }
    throw error;
  });
}
