import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { newId } from "../lib/ids";

const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Keeps a caller's well-formed X-Request-Id, or makes one; every response carries it. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const id = incoming && ACCEPTABLE_ID.test(incoming) ? incoming : newId("req");
  c.set("requestId", id);
  c.header("X-Request-Id", id);
  await next();
});
