import { createRoute } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { OwnTenantSchema, TenantUpdateSchema } from "../../services/accounts/tenant-schemas";
import { bearerAuth } from "../common";
import { jsonBody, jsonResponse, problems } from "../openapi-helpers";

export {
  Amount,
  Country,
  OwnTenantSchema,
  TenantSchema,
} from "../../services/accounts/tenant-schemas";

export const getTenant = createRoute({
  method: "get",
  path: "/v1/tenant",
  operationId: "getTenant",
  tags: ["Account"],
  summary: "Your account's settings",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: jsonResponse(OwnTenantSchema, "The settings"),
    ...problems(401, 403, 429),
  },
});

export const updateTenant = createRoute({
  method: "patch",
  path: "/v1/tenant",
  operationId: "updateTenant",
  tags: ["Account"],
  summary: "Change your account's settings",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    body: jsonBody(TenantUpdateSchema),
  },
  responses: {
    200: jsonResponse(OwnTenantSchema, "The new settings"),
    ...problems(400, 401, 403, 415, 422, 429),
  },
});
