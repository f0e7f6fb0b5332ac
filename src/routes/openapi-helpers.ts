/**
 * The OpenAPI shapes every resource's routes repeat: JSON bodies and responses, the list envelope
 * (`{data, next_cursor}`, DESIGN.md's Contracts) and the problem+json error responses. Each call
 * builds a fresh object, so the document comes out as if the shape were written out in place.
 */
import { z } from "@hono/zod-openapi";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://relaybox.dev/problems/validation-error" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    request_id: z.string(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .openapi("Problem");

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** The error responses of a route, each with the usual meaning of its status. */
export function problems(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Malformed request or schema violation",
    401: "Missing, invalid or revoked API key",
    403: "The API key lacks the needed scope, or is a test key and the request would change configuration",
    404: "Not found (also for another tenant's resources)",
    409: "Conflicts with the resource's state",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Well-formed but breaks a rule",
    429: "Over the API key's request limit; retry after `Retry-After` seconds",
  };
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: descriptions[status] ?? "Error", content: problemContent },
    ]),
  );
}

/** One error response with what the status means for this route. */
export const problem = <S extends number>(status: S, description: string) =>
  ({ [status]: { description, content: problemContent } }) as Record<
    S,
    { description: string; content: typeof problemContent }
  >;

/** A 409 with what the conflict is for this route. */
export const conflict = (description: string) => problem(409, description);

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

/** A JSON response. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A page of a list: newest first, `next_cursor` null on the last page. */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: z.string().nullable() });

/**
 * A list that is short by nature (providers, routes, apps, rules, tags) and comes whole, in the
 * order that matters for it: the list shape of every other list, with `next_cursor` always null.
 */
export function wholeList<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    next_cursor: z.null().openapi({ description: "Always null: this list comes whole" }),
  });
}
