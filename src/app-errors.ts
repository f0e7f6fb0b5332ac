/** The one error handler: everything that is not 2xx leaves as RFC 9457 problem+json. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./app-env";
import { createLogger } from "./lib/log";
import { ApiError } from "./lib/problem";
import { redactHookTokens } from "./lib/redact";

export function problemResponse(c: Context<AppEnv>, error: ApiError): Response {
  const requestId = c.get("requestId") ?? "unknown";
  const body = error.toProblem(new URL(c.req.url).pathname, requestId);
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: {
      "content-type": "application/problem+json",
      "x-request-id": requestId,
      ...error.headers,
    },
  });
}

export function onError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) {
    return problemResponse(c, error);
  }
  if (error instanceof HTTPException) {
    // Raised by Hono's validator before our schemas run: a body that is not JSON, or sent
    // without a JSON Content-Type.
    const contentType = c.req.header("content-type") ?? "";
    if (error.status === 415 || (error.status === 400 && !contentType.includes("json"))) {
      return problemResponse(
        c,
        new ApiError(
          "unsupported-media-type",
          "Send the request body as JSON with `Content-Type: application/json`.",
        ),
      );
    }
    if (error.status === 400) {
      return problemResponse(
        c,
        new ApiError("validation-error", "The request body is not well-formed JSON.", {
          errors: [{ pointer: "", detail: "malformed JSON" }],
        }),
      );
    }
    if (error.status === 413) {
      return problemResponse(
        c,
        new ApiError("payload-too-large", "The request body is too large."),
      );
    }
  }
  createLogger(c.env?.LOG_LEVEL, {
    request_id: c.get("requestId"),
    tenant_id: c.get("caller")?.tenant.id ?? c.get("session")?.tenantId,
  }).error("unhandled error", {
    method: c.req.method,
    path: redactHookTokens(c.req.path),
    error,
    stack: redactHookTokens(error.stack ?? String(error)),
  });
  return problemResponse(
    c,
    new ApiError("internal", "Something went wrong on our side; it has been logged."),
  );
}
