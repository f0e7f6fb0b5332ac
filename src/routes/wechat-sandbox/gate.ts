import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../app-env";
import { sandboxEnabled } from "../../config/wechat-sandbox";
import { ApiError } from "../../lib/problem";

/**
 * The sandbox's routes exist only with WECHAT_SANDBOX_ENABLED on: otherwise they answer as any
 * unknown route does, before any key is asked for.
 */
export const onlyWithSandbox = createMiddleware<AppEnv>(async (c, next) => {
  if (!sandboxEnabled(c.env)) {
    throw new ApiError("not-found", `No route for ${c.req.method} ${c.req.path}.`);
  }
  await next();
});
