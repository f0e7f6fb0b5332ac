/**
 * One JSON log line per request (lib/log): method, path (hook tokens cut out), status, duration,
 * request id, the tenant once authentication has found it, and the message a request sent or
 * acted on (`POST /v1/messages`, `GET|cancel|redact /v1/messages/{id}`). Never a header or a body.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { createLogger } from "../lib/log";

export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const startedAt = Date.now();
  await next();
  const status = c.res.status;
  // Static assets and the health probe are noise at info.
  const quiet = c.req.path === "/healthz" || c.req.path.startsWith("/docs/");
  const log = createLogger(c.env?.LOG_LEVEL, {
    request_id: c.get("requestId"),
    tenant_id: c.get("caller")?.tenant.id ?? c.get("session")?.tenantId,
    message_id: c.get("messageId"),
  });
  const fields = {
    method: c.req.method,
    path: c.req.path,
    status,
    duration_ms: Date.now() - startedAt,
  };
  if (status >= 500) {
    log.error("request", fields);
  } else if (quiet) {
    log.debug("request", fields);
  } else {
    log.info("request", fields);
  }
});
