/**
 * RFC 9457 problem details: the one error shape of every non-2xx response.
 * Each kind of problem has a slug (its `type` ends in it), a title and a status.
 */

import type { ZodError } from "zod";

export const PROBLEM_TYPES = {
  "validation-error": { status: 400, title: "Your request is not valid" },
  "unsupported-media-type": { status: 415, title: "Unsupported media type" },
  unauthenticated: { status: 401, title: "Authentication required" },
  forbidden: { status: 403, title: "Not allowed" },
  "tenant-suspended": { status: 403, title: "Account suspended" },
  "not-found": { status: 404, title: "Not found" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  "payload-too-large": { status: 413, title: "Payload too large" },
  "unprocessable-entity": { status: 422, title: "The request breaks a rule" },
  "idempotency-key-reused": {
    status: 422,
    title: "Idempotency key already used with another request",
  },
  "budget-exceeded": { status: 422, title: "Spending limit reached" },
  "rate-limited": { status: 429, title: "Too many requests" },
  "provider-unavailable": { status: 503, title: "Provider unavailable" },
  internal: { status: 500, title: "Internal error" },
} as const;

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

export interface FieldError {
  /** JSON Pointer (RFC 6901) into the request, e.g. `/to` or `/headers/idempotency-key`. */
  pointer: string;
  detail: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  request_id: string;
  errors?: FieldError[];
  /** RFC 9457 extension members, e.g. the sensitive-word `hits` of a refused text. */
  [extension: string]: unknown;
}

export const PROBLEM_TYPE_BASE = "https://relaybox.dev/problems/";

export class ApiError extends Error {
  readonly slug: ProblemSlug;
  readonly status: number;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  readonly extensions?: Record<string, unknown>;

  constructor(
    slug: ProblemSlug,
    detail: string,
    options: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
    } = {},
  ) {
    super(detail);
    this.name = "ApiError";
    this.slug = slug;
    this.status = PROBLEM_TYPES[slug].status;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }

  toProblem(instance: string, requestId: string): Problem {
    const problem: Problem = {
      type: PROBLEM_TYPE_BASE + this.slug,
      title: PROBLEM_TYPES[this.slug].title,
      status: this.status,
      detail: this.message,
      instance,
      request_id: requestId,
      ...(this.errors && this.errors.length > 0 ? { errors: this.errors } : {}),
    };
    // Extension members come after the standard ones and can never replace them.
    for (const [name, value] of Object.entries(this.extensions ?? {})) {
      if (!(name in problem)) {
        problem[name] = value;
      }
    }
    return problem;
  }
}

/** A JSON Pointer for a path of keys, escaping `~` and `/` as RFC 6901 asks. */
export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((key) => `/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
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
