/** The one error handler: everything that is not 2xx leaves as RFC 9457 problem+json. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import type { AppEnv } from "./app-env";
import { ApiError, toPointer } from "./lib/problem";
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

const TARGET_POINTER: Record<string, string> = {
  json: "",
  query: "/query",
  param: "/path",
  header: "/headers",
};

/** zod issues become `errors: [{pointer, detail}]`; body fields point into the body itself. */
export function validationError(target: string, error: ZodError): ApiError {
  const base = TARGET_POINTER[target] ?? `/${target}`;
  // An unknown field (strict objects) is one issue at the parent; point at each field instead.
  const errors = error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          pointer: base + toPointer([...issue.path, key]),
          detail: `unknown field \`${key}\``,
        }))
      : [{ pointer: base + toPointer(issue.path), detail: issue.message }],
  );
  const where = target === "json" ? "request body" : `${target === "param" ? "path" : target}`;
  const summary = errors.map((e) => `${e.pointer}: ${e.detail}`).join("; ");
  return new ApiError("validation-error", `The ${where} is not valid: ${summary}`, { errors });
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
