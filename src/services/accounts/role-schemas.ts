/** A custom role's fields as the API and the dashboard's Roles page accept them. */
import { z } from "@hono/zod-openapi";
import { PERMISSIONS } from "../../domain/permissions";

export const RoleName = z.string().trim().min(1).max(100);
export const RoleDescription = z.string().trim().max(500);
/** Checked by the service, so an unknown permission is a 422 naming it, not a schema error. */
export const RolePermissions = z
  .array(z.string().min(1).max(100))
  .min(1)
  .max(PERMISSIONS.length * 2)
  .openapi({ description: "Permissions from GET /v1/permissions; you can grant only your own" });

/** A new role, or a role's whole set of fields. */
export const RoleInputSchema = z.object({
  name: RoleName,
  description: RoleDescription,
  permissions: RolePermissions,
});
