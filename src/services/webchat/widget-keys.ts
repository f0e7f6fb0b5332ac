/**
 * A tenant's web chat widget keys: the public key (`wk_…`) a page's script tag carries, the page
 * origins it is accepted from, and the HS256 secret the tenant's site signs visitors' identity
 * tokens with (shown once, stored encrypted). Changes are audited; another tenant's key is a 404.
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import { settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { webchatWidgetKeys } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { originOf } from "../../domain/webchat";
import { randomToken } from "../../lib/crypto";
import { ApiError } from "../../lib/problem";
import { encryptSecret } from "../../lib/secrets";
import { TtlCache } from "../../lib/ttl-cache";
import { audited } from "../audit/audit-log";

export type WidgetKeyRow = typeof webchatWidgetKeys.$inferSelect;

const MAX_KEYS_PER_TENANT = 20;

/** Each origin as `scheme://host[:port]`; a path, query or anything else is a 400 naming it. */
export function checkedOrigins(origins: readonly string[]): string[] {
  const out: string[] = [];
  origins.forEach((text, i) => {
    const origin = originOf(text);
    if (origin === null || origin !== text.replace(/\/$/, "")) {
      throw new ApiError("validation-error", `"${text}" is not an origin.`, {
        errors: [
          {
            pointer: `/allowed_origins/${i}`,
            detail: "scheme://host[:port], such as https://www.example.com, with no path",
          },
        ],
      });
    }
    out.push(origin);
  });
  return [...new Set(out)];
}

export async function createWidgetKey(
  env: Env,
  caller: Caller,
  input: { name: string; allowedOrigins: string[] },
  now: number = Date.now(),
): Promise<{ row: WidgetKeyRow; secret: string }> {
  const origins = checkedOrigins(input.allowedOrigins);
  const db = database(env.DB);
  const existing = await db
    .select({ id: webchatWidgetKeys.id })
    .from(webchatWidgetKeys)
    .where(
      and(eq(webchatWidgetKeys.tenantId, caller.tenant.id), isNull(webchatWidgetKeys.revokedAt)),
    );
  if (existing.length >= MAX_KEYS_PER_TENANT) {
    throw new ApiError(
      "unprocessable-entity",
      `A tenant may have at most ${MAX_KEYS_PER_TENANT} widget keys; revoke one first.`,
    );
  }
  const secret = `wks_${randomToken(40)}`;
  const row: WidgetKeyRow = {
    id: `wk_${randomToken(24)}`,
    tenantId: caller.tenant.id,
    name: input.name,
    allowedOrigins: origins,
    secretCiphertext: await encryptSecret(
      settingsOf(env).MASTER_KEY,
      "webchat-identity-secret",
      secret,
    ),
    createdAt: now,
    revokedAt: null,
  };
  await audited(
    env,
    caller,
    {
      action: "widget_key.create",
      target: row.id,
      diff: diffOf({}, { name: row.name, allowed_origins: origins, secret: "" }, ["secret"]),
    },
    [db.insert(webchatWidgetKeys).values(row)],
  );
  return { row, secret };
}

export async function listWidgetKeys(env: Env, caller: Caller): Promise<WidgetKeyRow[]> {
  return database(env.DB)
    .select()
    .from(webchatWidgetKeys)
    .where(eq(webchatWidgetKeys.tenantId, caller.tenant.id))
    .orderBy(desc(webchatWidgetKeys.id))
    .limit(100);
}

async function ownKey(env: Env, caller: Caller, id: string): Promise<WidgetKeyRow> {
  const row = await database(env.DB)
    .select()
    .from(webchatWidgetKeys)
    .where(and(eq(webchatWidgetKeys.tenantId, caller.tenant.id), eq(webchatWidgetKeys.id, id)))
    .get();
  if (!row) {
    throw new ApiError("not-found", `No widget key ${id}.`);
  }
  return row;
}

export async function updateWidgetKey(
  env: Env,
  caller: Caller,
  id: string,
  change: { name?: string; allowedOrigins?: string[] },
): Promise<WidgetKeyRow> {
  const before = await ownKey(env, caller, id);
  const after: WidgetKeyRow = {
    ...before,
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.allowedOrigins !== undefined
      ? { allowedOrigins: checkedOrigins(change.allowedOrigins) }
      : {}),
  };
  const db = database(env.DB);
  await audited(
    env,
    caller,
    {
      action: "widget_key.update",
      target: id,
      diff: diffOf(
        { name: before.name, allowed_origins: before.allowedOrigins },
        { name: after.name, allowed_origins: after.allowedOrigins },
      ),
    },
    [
      db
        .update(webchatWidgetKeys)
        .set({ name: after.name, allowedOrigins: after.allowedOrigins })
        .where(and(eq(webchatWidgetKeys.tenantId, caller.tenant.id), eq(webchatWidgetKeys.id, id))),
    ],
  );
  widgetKeys.delete(id);
  return after;
}

export async function revokeWidgetKey(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<void> {
  const before = await ownKey(env, caller, id);
  if (before.revokedAt !== null) {
    return;
  }
  const db = database(env.DB);
  await audited(env, caller, { action: "widget_key.revoke", target: id }, [
    db
      .update(webchatWidgetKeys)
      .set({ revokedAt: now })
      .where(and(eq(webchatWidgetKeys.tenantId, caller.tenant.id), eq(webchatWidgetKeys.id, id))),
  ]);
  widgetKeys.delete(id);
}

/** A short isolate cache of keys for the public connect route; revocation reaches it in 10 s. */
const widgetKeys = new TtlCache<string, WidgetKeyRow | null>({ ttlMs: 10_000, maxEntries: 10_000 });

/** The live key (any tenant's: the key names its tenant), or null. */
export async function liveWidgetKey(
  env: Env,
  id: string,
  now: number = Date.now(),
): Promise<WidgetKeyRow | null> {
  const cached = widgetKeys.get(id, now);
  if (cached !== undefined) {
    return cached;
  }
  const row =
    (await database(env.DB)
      .select()
      .from(webchatWidgetKeys)
      .where(and(eq(webchatWidgetKeys.id, id), isNull(webchatWidgetKeys.revokedAt)))
      .get()) ?? null;
  widgetKeys.set(id, row, now);
  return row;
}
