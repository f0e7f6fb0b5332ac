/**
 * Idempotency for creating POSTs other than messages (whose records live in the dispatcher):
 * the same key and body replay the first response for 24 h; another body is a 422. A record is
 * claimed before the work starts, so two concurrent requests with one key cannot both create.
 */
import { and, eq, lt } from "drizzle-orm";
import { database } from "../db/client";
import { idempotencyRecords } from "../db/schema";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/problem";

const TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredResponse<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/**
 * Runs `create` once per (tenant, operation, key). `stored` picks what of the response is kept
 * for replays (a secret shown once is left out).
 */
export async function idempotent<T>(
  env: Env,
  scope: { tenantId: string; operation: string; key: string | undefined; request: unknown },
  create: () => Promise<{ status: number; body: T }>,
  stored: (body: T) => T = (body) => body,
  now: number = Date.now(),
): Promise<StoredResponse<T>> {
  if (!scope.key) {
    return { ...(await create()), replayed: false };
  }
  const db = database(env.DB);
  const key = `${scope.operation} ${scope.key}`;
  const requestHash = await sha256Hex(JSON.stringify(scope.request));
  await db
    .delete(idempotencyRecords)
    .where(
      and(
        eq(idempotencyRecords.tenantId, scope.tenantId),
        eq(idempotencyRecords.key, key),
        lt(idempotencyRecords.expiresAt, now),
      ),
    );
  const claimed = await db
    .insert(idempotencyRecords)
    .values({ tenantId: scope.tenantId, key, requestHash, createdAt: now, expiresAt: now + TTL_MS })
    .onConflictDoNothing()
    .returning({ key: idempotencyRecords.key });
  if (claimed.length === 0) {
    return replay<T>(env, scope.tenantId, key, requestHash);
  }
  try {
    const response = await create();
    await db
      .update(idempotencyRecords)
      .set({
        responseStatus: response.status,
        responseBody: JSON.stringify(stored(response.body)),
      })
      .where(and(eq(idempotencyRecords.tenantId, scope.tenantId), eq(idempotencyRecords.key, key)));
    return { ...response, replayed: false };
  } catch (error) {
    // Nothing was created: free the key so the caller can try again.
    await db
      .delete(idempotencyRecords)
      .where(and(eq(idempotencyRecords.tenantId, scope.tenantId), eq(idempotencyRecords.key, key)));
    throw error;
  }
}

async function replay<T>(
  env: Env,
  tenantId: string,
  key: string,
  requestHash: string,
): Promise<StoredResponse<T>> {
  const record = await database(env.DB).query.idempotencyRecords.findFirst({
    where: and(eq(idempotencyRecords.tenantId, tenantId), eq(idempotencyRecords.key, key)),
  });
  const pointer = [{ pointer: "/headers/idempotency-key", detail: "already used" }];
  if (!record || record.requestHash !== requestHash) {
    throw new ApiError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used with a different request body in the last 24 hours.",
      { errors: pointer },
    );
  }
  if (record.responseStatus === null || record.responseBody === null) {
    throw new ApiError(
      "conflict",
      "A request with this Idempotency-Key is still in progress; retry in a moment.",
      { errors: pointer },
    );
  }
  return {
    status: record.responseStatus,
    body: JSON.parse(record.responseBody) as T,
    replayed: true,
  };
}
