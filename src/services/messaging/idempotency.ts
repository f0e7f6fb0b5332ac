/**
 * Idempotency for creating POSTs other than messages (whose records live in the dispatcher):
 * the same key and body replay the first response for 24 h; another body is a 422. A record is
 * claimed before the work starts, so two concurrent requests with one key cannot both create.
 *
 * Once `create()` has returned, the key is never freed, whatever fails after: the resource exists,
 * and freeing the key would let a retry make a second one. If its answer cannot be stored, the
 * record stays claimed without one, and a retry gets a 409 while the claim's lease runs. After
 * the lease, what a retry gets depends on the operation:
 * - a rerunnable create (the batch: its ids follow from the claim, and staging and committing it
 *   again is harmless) runs again under the same claim, finds or makes the very same resource,
 *   and answers as the first did; that is what the client wanted, with no guessing on its side;
 * - any other create cannot tell whether the first run made its resource, so the retry gets a 409
 *   saying the outcome was not recorded: the client looks before it sends again with a new key,
 *   rather than us guessing and making a second one. The first request itself still got its
 *   answer (with any secret shown once) unless it died, so this is rare.
 */
import { and, eq, isNull, lt } from "drizzle-orm";
import { database } from "../../db/client";
import { idempotencyRecords } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import { sha256Hex } from "../../lib/crypto";
import { createLogger } from "../../lib/log";
import { ApiError } from "../../lib/problem";

const TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A claim without an answer counts as in progress this long: longer than the largest create
 * takes (a 100,000-row batch), so a retry does not run it a second time alongside the first.
 */
export const CLAIM_LEASE_MS = 60_000;

export interface StoredResponse<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/** What a create runs under; a rerun of a claim gets the same, so it makes the same ids. */
export interface Claim {
  /** When the key was claimed: the creation time of what is made. */
  at: number;
  /** 32 bytes, from the tenant, the key and `at` (random without a key), for `seededId()`. */
  seed: Uint8Array;
}

/**
 * The name a caller's Idempotency-Key is kept under (here and in the dispatcher). Test and live
 * keys never share one, as in Stripe's test mode: a key first used in test mode must not answer a
 * live request with the test-mode message (sending nothing live), nor show a test key a live one.
 */
export function idempotencyKeyOf(caller: Caller, key: string): string;
export function idempotencyKeyOf(caller: Caller, key: string | undefined): string | undefined;
export function idempotencyKeyOf(caller: Caller, key: string | undefined): string | undefined {
  return key === undefined || caller.mode === "live" ? key : `test:${key}`;
}

export interface IdempotencyScope {
  tenantId: string;
  operation: string;
  key: string | undefined;
  request: unknown;
  /**
   * True when running `create` again under the same claim is harmless: it finds or makes the
   * same resource. A claim whose outcome is unknown is then run again instead of refused.
   */
  rerunnable?: boolean;
}

/**
 * Runs `create` once per (tenant, operation, key). `stored` picks what of the response is kept
 * for replays (a secret shown once is left out).
 */
export async function idempotent<T>(
  env: Env,
  scope: IdempotencyScope,
  create: (claim: Claim) => Promise<{ status: number; body: T }>,
  stored: (body: T) => T = (body) => body,
  now: number = Date.now(),
): Promise<StoredResponse<T>> {
  if (!scope.key) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    return { ...(await create({ at: now, seed })), replayed: false };
  }
  const db = database(env.DB);
  const key = `${scope.operation} ${scope.key}`;
  const thisRecord = and(
    eq(idempotencyRecords.tenantId, scope.tenantId),
    eq(idempotencyRecords.key, key),
  );
  const requestHash = await sha256Hex(JSON.stringify(scope.request));
  await db.delete(idempotencyRecords).where(and(thisRecord, lt(idempotencyRecords.expiresAt, now)));
  const claimed = await db
    .insert(idempotencyRecords)
    .values({ tenantId: scope.tenantId, key, requestHash, createdAt: now, expiresAt: now + TTL_MS })
    .onConflictDoNothing()
    .returning({ key: idempotencyRecords.key });
  const first = claimed.length > 0;
  let claimedAt = now;
  if (!first) {
    const prior = await priorClaim<T>(env, scope.tenantId, key, requestHash, now);
    if (prior.kind === "answered") {
      return { ...prior.response, replayed: true };
    }
    if (!scope.rerunnable) {
      throw new ApiError(
        "conflict",
        "The request first sent with this Idempotency-Key may have created its resource, but " +
          "its outcome was not recorded, so it cannot be replayed. Look for the resource before " +
          "sending the request again with a new key.",
        { errors: KEY_POINTER },
      );
    }
    claimedAt = prior.claimedAt;
  }

  let response: { status: number; body: T };
  try {
    response = await create({
      at: claimedAt,
      seed: await claimSeed(scope.tenantId, key, claimedAt),
    });
  } catch (error) {
    // Freed only when the failure surely made nothing: any failure of a create that cannot run
    // again (it made nothing if it threw), or a refusal on a rerunnable create's first run
    // (refusals come before anything is committed). A rerunnable create's other failures may
    // come after its commit: a retry runs it again after the lease, under this claim.
    if (!scope.rerunnable || (first && error instanceof ApiError)) {
      await db
        .delete(idempotencyRecords)
        .where(and(thisRecord, isNull(idempotencyRecords.responseStatus)));
    }
    throw error;
  }
  try {
    await db
      .update(idempotencyRecords)
      .set({
        responseStatus: response.status,
        responseBody: JSON.stringify(stored(response.body)),
      })
      .where(and(thisRecord, isNull(idempotencyRecords.responseStatus)));
  } catch (error) {
    // The resource exists, so the caller gets it; the record stays claimed (see above).
    createLogger(env.LOG_LEVEL).error("idempotency: the answer was not stored", { key, error });
  }
  return { ...response, replayed: false };
}

const KEY_POINTER = [{ pointer: "/headers/idempotency-key", detail: "already used" }];

type PriorClaim<T> =
  | { kind: "answered"; response: { status: number; body: T } }
  | { kind: "unrecorded"; claimedAt: number };

/**
 * A key claimed already, with this request's body: its stored answer, or (past the lease) the
 * time of a claim whose outcome was never recorded. Another body is a 422; a claim within its
 * lease is a 409 with the seconds left.
 */
async function priorClaim<T>(
  env: Env,
  tenantId: string,
  key: string,
  requestHash: string,
  now: number,
): Promise<PriorClaim<T>> {
  const record = await database(env.DB).query.idempotencyRecords.findFirst({
    where: and(eq(idempotencyRecords.tenantId, tenantId), eq(idempotencyRecords.key, key)),
  });
  if (record && record.requestHash !== requestHash) {
    throw new ApiError(
      "idempotency-key-reused",
      "This Idempotency-Key was already used with a different request body in the last 24 hours.",
      { errors: KEY_POINTER },
    );
  }
  if (record && record.responseStatus !== null && record.responseBody !== null) {
    return {
      kind: "answered",
      response: { status: record.responseStatus, body: JSON.parse(record.responseBody) as T },
    };
  }
  // No record: the first request failed and freed its key since our insert; a retry claims it.
  const leaseEnds = record ? record.createdAt + CLAIM_LEASE_MS : now + 1_000;
  if (!record || now < leaseEnds) {
    throw new ApiError(
      "conflict",
      "A request with this Idempotency-Key is still in progress; retry in a moment.",
      {
        errors: KEY_POINTER,
        headers: { "Retry-After": String(Math.ceil((leaseEnds - now) / 1000)) },
      },
    );
  }
  return { kind: "unrecorded", claimedAt: record.createdAt };
}

/** The claim's seed: the same tenant, key and claim time always give the same bytes. */
async function claimSeed(tenantId: string, key: string, at: number): Promise<Uint8Array> {
  const text = new TextEncoder().encode(`${tenantId}\n${key}\n${at}`);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", text));
}
