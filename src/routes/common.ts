/** Parameters, headers and formats shared by every resource's routes. */
import { z } from "@hono/zod-openapi";

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
