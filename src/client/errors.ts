/**
 * The API's errors (RFC 9457 problem+json, DESIGN.md's Contracts) as exceptions: one class per
 * kind, so callers `catch (e) { if (e instanceof NotFoundError) … }`, each carrying the problem.
 */
import type { components } from "./schema.ts";

export type Problem = components["schemas"]["Problem"];

/** Any non-2xx answer from the API. */
export class RelayboxError extends Error {
  readonly status: number;
  /** The problem's slug: the last segment of its `type` (`validation-error`, `not-found`, …). */
  readonly code: string;
  readonly problem: Problem;
  readonly requestId: string | undefined;
  /** `[{pointer, detail}]`: which field of the request is wrong and why. */
  readonly errors: { pointer: string; detail: string }[];

  constructor(problem: Problem, requestId?: string) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = new.target.name;
    this.status = problem.status;
    this.code = problem.type.split("/").pop() ?? problem.type;
    this.problem = problem;
    this.requestId = problem.request_id || requestId;
    this.errors = problem.errors ?? [];
  }
}

/** 400: malformed, or fails the operation's schema (`errors` names the fields). */
export class ValidationError extends RelayboxError {}
/** 401: missing, invalid or revoked API key. */
export class AuthenticationError extends RelayboxError {}
/** 403: the key lacks the scope, or a test key tried to change configuration. */
export class PermissionError extends RelayboxError {}
/** 404: missing, or another tenant's. */
export class NotFoundError extends RelayboxError {}
/** 409: conflicts with the resource's state. */
export class ConflictError extends RelayboxError {}
/** 413: body too large. */
export class PayloadTooLargeError extends RelayboxError {}
/** 422: well-formed but breaks a rule (blocked word, country not allowed, key reused, …). */
export class UnprocessableError extends RelayboxError {}

/** 429 or 503 still failing after the client's retries; `retryAfterSeconds` from the last answer. */
export class RetryableError extends RelayboxError {
  readonly retryAfterSeconds: number | undefined;
  constructor(problem: Problem, requestId?: string, retryAfterSeconds?: number) {
    super(problem, requestId);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/** 429: over a request limit. */
export class RateLimitError extends RetryableError {}
/** 503: the service (or a provider behind it) is unavailable for now. */
export class ServiceUnavailableError extends RetryableError {}
/** Any other 5xx. */
export class ServerError extends RelayboxError {}

const BY_STATUS: Record<number, typeof RelayboxError> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  422: UnprocessableError,
};

function isProblem(value: unknown): value is Problem {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Problem).status === "number" &&
    typeof (value as Problem).type === "string"
  );
}

/** Seconds from a `Retry-After` header: delta-seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, nowMs = Date.now()): number | undefined {
  if (!header) {
    return undefined;
  }
  if (/^\d+$/.test(header.trim())) {
    return Number(header.trim());
  }
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** The exception for a non-2xx `response` whose body was `body` (parsed JSON, or text). */
export function errorFor(response: Response, body: unknown): RelayboxError {
  const requestId = response.headers.get("x-request-id") ?? undefined;
  const problem: Problem = isProblem(body)
    ? body
    : {
        type: "about:blank",
        title: response.statusText || `HTTP ${response.status}`,
        status: response.status,
        detail: typeof body === "string" ? body.slice(0, 500) : "",
        instance: new URL(response.url || "http://unknown/").pathname,
        request_id: requestId ?? "",
      };
  const wait = retryAfterSeconds(response.headers.get("retry-after"));
  if (response.status === 429) {
    return new RateLimitError(problem, requestId, wait);
  }
  if (response.status === 503) {
    return new ServiceUnavailableError(problem, requestId, wait);
  }
  const Kind = BY_STATUS[response.status] ?? (response.status >= 500 ? ServerError : RelayboxError);
  return new Kind(problem, requestId);
}
