/**
 * A dashboard session by its cookie's token, with its user's role's permissions and its tenant's
 * settings, in one D1 read. Sessions are not cached, on purpose: every change of the user's row
 * (role, password, disabling; the trigger of migration 0013) or of a custom role's permissions
 * must apply to the very next request.
 */
import { and, eq, gt } from "drizzle-orm";
import type { Session, TenantConfig } from "../domain/caller";
import { permissionsOfRole } from "../domain/permissions";
import { sha256Hex } from "../lib/crypto";
import { database } from "./client";
import { dashboardSessions, roles, tenants, users } from "./schema";
import { tenantConfigOf } from "./tenant-config";

const TOKEN = /^[0-9A-Za-z]{43}$/; // base62: 256 bits

/** The session a cookie token names, if it is unexpired and its user's row has not changed. */
export async function lookUpSession(
  env: Env,
  token: string,
  now: number = Date.now(),
): Promise<{ session: Session; tenant: TenantConfig } | undefined> {
  if (!TOKEN.test(token)) {
    return undefined;
  }
  const row = await database(env.DB)
    .select({
      id: dashboardSessions.id,
      csrf: dashboardSessions.csrf,
      userVersion: dashboardSessions.userVersion,
      sessionVersion: users.sessionVersion,
      userId: users.id,
      email: users.email,
      role: users.role,
      status: users.status,
      customPermissions: roles.permissions,
      tenant: tenants,
    })
    .from(dashboardSessions)
    .innerJoin(users, eq(users.id, dashboardSessions.userId))
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .leftJoin(roles, and(eq(roles.id, users.role), eq(roles.tenantId, users.tenantId)))
    .where(
      and(eq(dashboardSessions.id, await sha256Hex(token)), gt(dashboardSessions.expiresAt, now)),
    )
    .get();
  if (!row || row.userVersion !== row.sessionVersion || row.status !== "active") {
    return undefined;
  }
  return {
    session: {
      id: row.id,
      userId: row.userId,
      tenantId: row.tenant.id,
      email: row.email,
      role: row.role,
      permissions: permissionsOfRole(row.role, row.customPermissions),
      csrf: row.csrf,
      tenantName: row.tenant.name,
    },
    tenant: tenantConfigOf(row.tenant),
  };
}
