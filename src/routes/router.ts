import { OpenAPIHono } from "@hono/zod-openapi";
import { validationError } from "../app-errors";
import type { AppEnv } from "../middleware/context";

/** A router whose schema failures become 400 problem+json with a pointer per issue. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(result.target, result.error);
      }
    },
  });
}
