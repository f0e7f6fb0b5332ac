/**
 * Creating, listing, changing and revoking API keys. The key is shown once; only its hash is kept.
 */
import { and, eq, isNull } from "drizzle-orm";
import { forgetCachedKey } from "../../db/api-key-lookup";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { apiKeys } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import type { Permission } from "../../domain/permissions";
import { type RateLimitRequest, requestedRateLimit } from "../../domain/rate-limits";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, lostRace } from "../audit/change-guard";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * The keys a caller reaches besides the tenant's: a test key only test keys (a live key is a 404
 * to it, so it cannot revoke or change one); a live key every key, so a leaked test key can be
 * revoked with it.
 */
function reachableBy(caller: Caller) {
  return caller.mode === "test" ? eq(apiKeys.mode, "test") : undefined;
}

export function generateApiKey(mode: "live" | "test"): string {
  return `rbx_${mode}_${randomToken(32)}`;
}

export async function createApiKey(
  env: Env,
  caller: Caller,
  input: {
    name: string;
    scopes: Permission[];
    mode: "live" | "test";
    rateLimit?: RateLimitRequest;
  },
  now: number = Date.now(),
): Promise<{ row: ApiKeyRow; key: string }> {
  if (input.mode === "live" && caller.mode === "test") {
    // Test keys only ever reach the sandbox; one must not be a way to a key that reaches carriers.
    throw new ApiError("unprocessable-entity", "A test key can create only test keys.", {
      errors: [{ pointer: "/mode", detail: 'must be "test" when the request uses a test key' }],
    });
  }
  const key = generateApiKey(input.mode);
  const rateLimit = input.rateLimit && requestedRateLimit(input.rateLimit);
  const row: ApiKeyRow = {
    id: newId("key", now),
    tenantId: caller.tenant.id,
    name: input.name,
    prefix: key.slice(0, 13),
    keyHash: await sha256Hex(key),
    mode: input.mode,
    scopes: [...new Set(input.scopes)],
    createdAt: now,
    revokedAt: null,
    rateLimitPerSecond: rateLimit?.perSecond ?? null,
    rateLimitBurst: rateLimit?.burst ?? null,
  };
  // The entry names the key's record, never the key itself nor its hash.
  const { keyHash: _hash, tenantId: _tenant, ...recorded } = row;
  await audited(
    env,
    caller,
    { action: "api_key.create", target: row.id, diff: diffOf({}, recorded) },
    [database(env.DB).insert(apiKeys).values(row)],
  );
  return { row, key };
}

export async function listApiKeys(
  env: Env,
  caller: Caller,
  page: PageRequest,
): Promise<Page<ApiKeyRow>> {
  const paging = keyset(apiKeys.id, page);
  const rows = await database(env.DB)
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, caller.tenant.id), reachableBy(caller), paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, page, (row) => row.id);
}

/** What PATCH may change; a `rateLimit` of null puts the key back on the default limit. */
export interface ApiKeyChanges {
  name?: string;
  rateLimit?: RateLimitRequest | null;
}

export async function updateApiKey(
  env: Env,
  caller: Caller,
  id: string,
  changes: ApiKeyChanges,
): Promise<ApiKeyRow> {
  const db = database(env.DB);
  const set: Partial<ApiKeyRow> = {};
  if (changes.name !== undefined) {
    set.name = changes.name;
  }
  if (changes.rateLimit !== undefined) {
    const rateLimit = changes.rateLimit && requestedRateLimit(changes.rateLimit);
    set.rateLimitPerSecond = rateLimit?.perSecond ?? null;
    set.rateLimitBurst = rateLimit?.burst ?? null;
  }
  const mine = and(eq(apiKeys.id, id), eq(apiKeys.tenantId, caller.tenant.id), reachableBy(caller));
  // Only a live (unrevoked) key changes, so a revocation racing this update always wins.
  const live = and(mine, isNull(apiKeys.revokedAt));
  const before = await db.select().from(apiKeys).where(live).limit(1).get();
  let updated = before;
  if (before && Object.keys(set).length > 0) {
    // A revocation that got there first leaves nothing to record: the key's 409 below.
    const [[changed]] = await audited(
      env,
      caller,
      {
        action: changes.rateLimit !== undefined ? "api_key.limit_change" : "api_key.update",
        target: id,
        diff: diffOf(pick(before, set), set),
      },
      [db.update(apiKeys).set(set).where(live).returning(), failUnlessChanged(env)],
    ).catch((error: unknown) => {
      if (lostRace(error)) {
        return [[undefined]] as const;
      }
      throw error;
    });
    updated = changed;
  }
  if (!updated) {
    const existing = await db.query.apiKeys.findFirst({ where: mine });
    if (!existing) {
      throw new ApiError("not-found", `No API key ${id}.`);
    }
    throw new ApiError(
      "conflict",
      `API key ${id} has been revoked; a revoked key can't be changed.`,
    );
  }
  // The new limit applies at once in this isolate, and within the cache's TTL in the others.
  forgetCachedKey(id);
  return updated;
}

export async function revokeApiKey(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<void> {
  const db = database(env.DB);
  const row = await db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.id, id), eq(apiKeys.tenantId, caller.tenant.id), reachableBy(caller)),
  });
  if (!row) {
    throw new ApiError("not-found", `No API key ${id}.`);
  }
  if (row.revokedAt === null) {
    await audited(
      env,
      caller,
      {
        action: "api_key.revoke",
        target: id,
        diff: diffOf({ revokedAt: null }, { revokedAt: now }),
      },
      [db.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, id))],
    );
  }
  forgetCachedKey(id);
}

/** The fields of `row` that `changes` names, to diff one against the other. */
function pick<T extends object>(row: T, changes: Partial<T>): Partial<T> {
  return Object.fromEntries(
    Object.keys(changes).map((field) => [field, row[field as keyof T]]),
  ) as Partial<T>;
}
