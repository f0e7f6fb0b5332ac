import { createRoute, z } from "@hono/zod-openapi";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../domain/passwords";
import { BUILT_IN_ROLES } from "../../domain/permissions";
import { USER_STATUSES } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const UserId = z.string().regex(/^usr_[0-9A-Z]{26}$/, "must be a user id (usr_…)");

const Role = z
  .string()
  .min(1)
  .max(64)
  .openapi({
    description: `A built-in role (${BUILT_IN_ROLES.join(", ")}) or one of your custom roles' ids (\`rol_…\`)`,
  });

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    role: z.string(),
    status: z.enum(USER_STATUSES),
    created_at: z.string(),
  })
  .openapi("User");

const OWNER_RULES =
  "You cannot grant a role holding a permission you do not hold, nor change a user whose role does; only an owner (a signed-in user, never an API key) makes or unmakes owners; the last active owner cannot be demoted, disabled or removed (409).";

const byId = { params: z.object({ id: UserId }) };

export const inviteUser = createRoute({
  method: "post",
  path: "/v1/users",
  operationId: "inviteUser",
  tags: ["Users"],
  summary: "Invite a user (returns the link to pass on; no mail is sent)",
  description: `The link works once, for 7 days. ${OWNER_RULES}`,
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(z.object({ email: z.email().max(254).toLowerCase(), role: Role }).strict()),
  },
  responses: {
    201: jsonResponse(
      z.object({
        user: UserSchema,
        invitation_url: z.string().nullable().openapi({
          description:
            "The link to pass on, shown once: a replay for the same Idempotency-Key answers null (remove the user and invite again for a new link)",
        }),
        invitation_expires_at: z.string(),
      }),
      "Invited: the user exists with status `invited` until they accept",
    ),
    ...problems(400, 401, 403, 415, 422, 429),
    ...conflict("The email address already has an account"),
  },
});

export const listUsers = createRoute({
  method: "get",
  path: "/v1/users",
  operationId: "listUsers",
  tags: ["Users"],
  summary: "List the tenant's users",
  security: bearerAuth,
  middleware: [requireScope("users:read")] as const,
  request: { query: z.object({ limit: LimitQuery, cursor: UserId.optional() }) },
  responses: {
    200: jsonResponse(listOf(UserSchema), "A page of users, newest first"),
    ...problems(400, 401, 403, 429),
  },
});

export const getUser = createRoute({
  method: "get",
  path: "/v1/users/{id}",
  operationId: "getUser",
  tags: ["Users"],
  summary: "Get a user",
  security: bearerAuth,
  middleware: [requireScope("users:read")] as const,
  request: byId,
  responses: {
    200: jsonResponse(UserSchema, "The user"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const updateUser = createRoute({
  method: "patch",
  path: "/v1/users/{id}",
  operationId: "updateUser",
  tags: ["Users"],
  summary: "Change a user's role (ends their dashboard sessions)",
  description: OWNER_RULES,
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: { ...byId, body: jsonBody(z.object({ role: Role }).strict()) },
  responses: {
    200: jsonResponse(UserSchema, "The user as changed"),
    ...problems(400, 401, 403, 404, 415, 422, 429),
    ...conflict("The user is the last active owner"),
  },
});

export const disableUser = createRoute({
  method: "post",
  path: "/v1/users/{id}/disable",
  operationId: "disableUser",
  tags: ["Users"],
  summary: "Disable a user: their sessions end and they cannot sign in",
  description: OWNER_RULES,
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: byId,
  responses: {
    200: jsonResponse(UserSchema, "The user as changed"),
    ...problems(400, 401, 403, 404, 429),
    ...conflict("The user is the last active owner, or has not accepted their invitation"),
  },
});

export const enableUser = createRoute({
  method: "post",
  path: "/v1/users/{id}/enable",
  operationId: "enableUser",
  tags: ["Users"],
  summary: "Enable a disabled user again",
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: byId,
  responses: {
    200: jsonResponse(UserSchema, "The user as changed"),
    ...problems(400, 401, 403, 404, 429),
    ...conflict("The user has not accepted their invitation"),
  },
});

export const removeUser = createRoute({
  method: "delete",
  path: "/v1/users/{id}",
  operationId: "removeUser",
  tags: ["Users"],
  summary: "Remove a user (or withdraw an invitation)",
  description: OWNER_RULES,
  security: bearerAuth,
  middleware: [requireScope("users:write")] as const,
  request: byId,
  responses: {
    204: { description: "Removed" },
    ...problems(400, 401, 403, 404, 429),
    ...conflict("The user is the last active owner"),
  },
});

export const acceptInvitation = createRoute({
  method: "post",
  path: "/v1/invitations/accept",
  operationId: "acceptInvitation",
  tags: ["Users"],
  summary: "Accept an invitation: set the password (no API key: the token is the credential)",
  description: `The password: ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not a common one, not the email address. An expired or forged token is a 422; a used one a 409.`,
  // No API key: the invitation's signed token is the credential.
  security: [],
  request: {
    body: jsonBody(
      z
        .object({
          token: z.string().min(1).max(2048),
          password: z.string().min(1).max(1000),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(z.object({ user: UserSchema }), "Accepted: the user can sign in"),
    ...problems(400, 415, 422),
    ...conflict("The invitation has been used already"),
  },
});
