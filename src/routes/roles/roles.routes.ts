import { createRoute, z } from "@hono/zod-openapi";
import { BUILT_IN_ROLES, PERMISSIONS } from "../../domain/permissions";
import { requireScope } from "../../middleware/api-key";
import { RoleDescription, RoleName, RolePermissions } from "../../services/accounts/role-schemas";
import { bearerAuth, IdempotencyHeaders } from "../common";
import { conflict, jsonBody, jsonResponse, problem, problems, wholeList } from "../openapi-helpers";

/** A custom role's id (`rol_…`) or a built-in role's name. */
const RoleId = z
  .string()
  .regex(
    new RegExp(`^(rol_[0-9A-Z]{26}|${BUILT_IN_ROLES.join("|")})$`),
    "must be a role id (rol_…) or a built-in role's name",
  )
  .openapi({ description: "A custom role's id (`rol_…`) or a built-in role's name" });

export const RoleSchema = z
  .object({
    id: z.string().openapi({ description: "`rol_…`, or the name of a built-in role" }),
    name: z.string(),
    description: z.string(),
    permissions: z.array(z.enum(PERMISSIONS)),
    built_in: z.boolean().openapi({ description: "Built-in roles cannot be edited or deleted" }),
    created_at: z.string().nullable().openapi({ description: "Null for a built-in role" }),
    updated_at: z.string().nullable().openapi({ description: "Null for a built-in role" }),
  })
  .openapi("Role");

export const PermissionSchema = z
  .object({ name: z.enum(PERMISSIONS), description: z.string() })
  .openapi("Permission");

const forbiddenGrant = problem(
  403,
  "The API key lacks `users:write`, or the role would hold a permission the key does not",
);

export const listPermissions = createRoute({
  method: "get",
  path: "/v1/permissions",
  operationId: "listPermissions",
  tags: ["Roles"],
  summary: "List the permissions roles and API keys are made of",
  description: "`admin` holds every permission.",
  security: bearerAuth,
  middleware: [requireScope("users:read")] as const,
  responses: {
    200: jsonResponse(wholeList(PermissionSchema), "Every permission, with what it allows"),
    ...problems(401, 403, 429),
  },
});

export const listRoles = createRoute({
  method: "get",
  path: "/v1/roles",
  operationId: "listRoles",
  tags: ["Roles"],
  summary: "List the built-in roles, then your custom roles",
  security: bearerAuth,
  middleware: [requireScope("users:read")] as const,
  responses: {
    200: jsonResponse(
      wholeList(RoleSchema),
      "Built-in roles first, then custom roles, oldest first",
    ),
    ...problems(401, 403, 429),
  },
});

export const getRole = createRoute({
  method: "get",
  path: "/v1/roles/{id}",
  operationId: "getRole",
  tags: ["Roles"],
  summary: "Get a role",
  security: bearerAuth,
  middleware: [requireScope("users:read")] as const,
  request: { params: z.object({ id: RoleId }) },
  responses: {
    200: jsonResponse(RoleSchema, "The role"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const createRole = createRoute({
  method: "post",
  path: "/v1/roles",
  operationId: "createRole",
  tags: ["Roles"],
  summary: "Create a custom role",
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          name: RoleName,
          description: RoleDescription.optional(),
          permissions: RolePermissions,
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(RoleSchema, "Created"),
    ...problems(400, 401, 415, 422, 429),
    ...forbiddenGrant,
    ...conflict("A role of this name exists already, or the name is a built-in role's"),
  },
});

export const updateRole = createRoute({
  method: "patch",
  path: "/v1/roles/{id}",
  operationId: "updateRole",
  tags: ["Roles"],
  summary: "Change a custom role (its users hold the new permissions at once)",
  description: "Send at least one field. Built-in roles cannot be edited (409).",
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: {
    params: z.object({ id: RoleId }),
    body: jsonBody(
      z
        .object({
          name: RoleName.optional(),
          description: RoleDescription.optional(),
          permissions: RolePermissions.optional(),
        })
        .strict()
        .refine((body) => Object.keys(body).length > 0, {
          message: "send at least one of `name`, `description` and `permissions`",
        })
        .openapi({ minProperties: 1 }),
    ),
  },
  responses: {
    200: jsonResponse(RoleSchema, "The role as changed"),
    ...problems(400, 401, 404, 415, 422, 429),
    ...forbiddenGrant,
    ...conflict("A built-in role, or another role has this name"),
  },
});

export const deleteRole = createRoute({
  method: "delete",
  path: "/v1/roles/{id}",
  operationId: "deleteRole",
  tags: ["Roles"],
  summary: "Delete a custom role no user has",
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: { params: z.object({ id: RoleId }) },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 429),
    ...conflict("A built-in role, or a user still has this role"),
  },
});
