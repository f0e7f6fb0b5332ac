/**
 * `x-permission` on every operation of the OpenAPI document: the permission its `requireScope`
 * asks for, read from the routes the app registered rather than written in each route file, so
 * the document (and the permission matrix test generated from it) says exactly what is enforced.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import type { Permission } from "../domain/permissions";
import { permissionRequiredBy } from "../middleware/api-key";

/** Hono wraps a sub-router's handler when that router has its own error handler. */
const COMPOSED_HANDLER = "__COMPOSED_HANDLER";

function innermost(handler: unknown): unknown {
  let current = handler;
  while (typeof current === "function" && COMPOSED_HANDLER in current) {
    current = (current as unknown as Record<string, unknown>)[COMPOSED_HANDLER];
  }
  return current;
}

/** `/v1/keys/{id}` as Hono routes it: `/v1/keys/:id`. */
const routingPath = (openApiPath: string) => openApiPath.replaceAll(/\{([^}]+)\}/g, ":$1");

/** Call once every router is mounted; the document is generated on request, from these. */
export function documentPermissions(app: OpenAPIHono<AppEnv>): void {
  const required = new Map<string, Permission>();
  for (const route of app.routes) {
    const permission = permissionRequiredBy(innermost(route.handler));
    if (permission) {
      required.set(`${route.method} ${route.path}`, permission);
    }
  }
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route") {
      continue;
    }
    const { method, path } = definition.route;
    const permission = required.get(`${method.toUpperCase()} ${routingPath(path)}`);
    if (permission) {
      Object.assign(definition.route, { "x-permission": permission });
    }
  }
}
