/**
 * A creating POST run once per Idempotency-Key (services/idempotency): the same key and body
 * replay the first response, marked `Idempotent-Replayed`; another body is a 422.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { idempotent } from "../services/messaging/idempotency";

export async function once<T>(
  c: Context<AppEnv>,
  operation: string,
  request: unknown,
  create: () => Promise<{ status: number; body: T }>,
): Promise<{ status: number; body: T }> {
  const response = await idempotent(
    c.env,
    {
      tenantId: c.get("caller").tenant.id,
      operation,
      key: c.req.header("idempotency-key"),
      request,
    },
    create,
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return response;
}
