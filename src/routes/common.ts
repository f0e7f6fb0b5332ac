/** Schemas and helpers shared by every resource's routes. */
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
      {
        description: descriptions[status] ?? "Error",
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}

/** A 409 with what the conflict is for this route. */
export const conflict = (description: string) => ({
  409: { description, content: { "application/problem+json": { schema: ProblemSchema } } },
});

/** The body of a review's rejection (templates and signatures). */
export const RejectBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();

export const bearerAuth = [{ bearerAuth: [] }];

export const IdempotencyHeaders = z.object({
  "idempotency-key": z.string().min(1).max(255).optional().openapi({
    description:
      "Replays the first response for 24 h when sent again with the same body; another body → 422.",
  }),
});

export const iso = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString();

export const LimitQuery = z.coerce.number().int().min(1).max(100).default(20);

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
