/** Creating, listing and revoking API keys. The key is shown once; only its hash is kept. */
import { and, desc, eq, lt } from "drizzle-orm";
import { database } from "../db/client";
import { apiKeys } from "../db/schema";
import type { Scope } from "../domain/scopes";
import { randomToken, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { ApiError } from "../lib/problem";
import { forgetCachedKey } from "../middleware/api-key";
import type { Caller } from "../middleware/context";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export function generateApiKey(mode: "live" | "test"): string {
  return `rbx_${mode}_${randomToken(32)}`;
}

export async function createApiKey(
  env: Env,
  caller: Caller,
  input: { name: string; scopes: Scope[]; mode: "live" | "test" },
  now: number = Date.now(),
): Promise<{ row: ApiKeyRow; key: string }> {
  const key = generateApiKey(input.mode);
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
  };
  await database(env.DB).insert(apiKeys).values(row);
  return { row, key };
}

export async function listApiKeys(
  env: Env,
  caller: Caller,
  page: { limit: number; cursor?: string },
): Promise<{ data: ApiKeyRow[]; nextCursor: string | null }> {
  const conditions = [eq(apiKeys.tenantId, caller.tenant.id)];
  if (page.cursor) {
    conditions.push(lt(apiKeys.id, page.cursor));
  }
  const rows = await database(env.DB)
    .select()
    .from(apiKeys)
    .where(and(...conditions))
    .orderBy(desc(apiKeys.id))
    .limit(page.limit + 1);
  const data = rows.slice(0, page.limit);
  const last = data.at(-1);
  return { data, nextCursor: rows.length > page.limit && last ? last.id : null };
}

export async function revokeApiKey(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<void> {
  const db = database(env.DB);
  const row = await db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.id, id), eq(apiKeys.tenantId, caller.tenant.id)),
  });
  if (!row) {
    throw new ApiError("not-found", `No API key ${id}.`);
  }
  if (row.revokedAt === null) {
    await db.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, id));
  }
  forgetCachedKey(id);
}
