/** The one error handler: everything that is not 2xx leaves as RFC 9457 problem+json. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./app-env";
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
  console.error(
    "unhandled error",
    c.req.method,
    redactHookTokens(c.req.path),
    redactHookTokens(error.stack ?? String(error)),
  );
  return problemResponse(
    c,
    new ApiError("internal", "Something went wrong on our side; it has been logged."),
  );
}
