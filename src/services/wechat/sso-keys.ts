/**
 * The keys that sign an app's sign-in tokens (sso.ts): ES256, made on first need, the private
 * half encrypted at rest like provider secrets (its own purpose, so it cannot be moved into
 * another column and decrypt), named by its RFC 7638 thumbprint (`kid`). One key per app is
 * current; rotating retires it and makes a new one, and the JWKS at `/wechat/{app_id}/jwks.json`
 * publishes the current key and the one before it, so a token signed just before a rotation
 * still verifies for the minutes it lives.
 */
import { and, desc, eq, isNotNull, isNull } from "drizzle-orm";
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { masterKeysOf, settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { wechatSsoKeys } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { decryptSecret, encryptSecret } from "../../lib/secrets";
import { audited } from "../audit/audit-log";
import { getWeChatApp } from "./apps";

export const SSO_ALG = "ES256";

type KeyRow = typeof wechatSsoKeys.$inferSelect;

/** Imported private keys by kid: a kid names one key for ever. */
const privateKeys = new Map<string, Promise<CryptoKey>>();

async function newKeyRow(env: Env, appId: string, tenantId: string, now: number): Promise<KeyRow> {
  const pair = await generateKeyPair(SSO_ALG, { extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(pair.privateKey);
  return {
    kid,
    appId,
    tenantId,
    publicJwk: { ...publicJwk, kid, alg: SSO_ALG, use: "sig" },
    privateCiphertext: await encryptSecret(
      settingsOf(env).MASTER_KEY,
      "sso-signing-key",
      JSON.stringify(privateJwk),
    ),
    createdAt: now,
    retiredAt: null,
  };
}

function currentKeyRow(env: Env, appId: string, tenantId: string): Promise<KeyRow | undefined> {
  return database(env.DB).query.wechatSsoKeys.findFirst({
    where: and(
      eq(wechatSsoKeys.appId, appId),
      eq(wechatSsoKeys.tenantId, tenantId),
      isNull(wechatSsoKeys.retiredAt),
    ),
  });
}

/**
 * The app's current key, made now if it has none. Two first sign-ins at once both make one; the
 * unique index on the current key lets one in, and both sign with it.
 */
async function currentKey(env: Env, appId: string, tenantId: string, now: number): Promise<KeyRow> {
  const existing = await currentKeyRow(env, appId, tenantId);
  if (existing) {
    return existing;
  }
  await database(env.DB)
    .insert(wechatSsoKeys)
    .values(await newKeyRow(env, appId, tenantId, now))
    .onConflictDoNothing();
  const made = await currentKeyRow(env, appId, tenantId);
  if (!made) {
    throw new Error(`no sign-in key for ${appId} after making one`);
  }
  return made;
}

/** `claims` as a JWS under the app's current key, with its kid in the header. */
export async function signWithAppKey(
  env: Env,
  app: { appId: string; tenantId: string },
  claims: JWTPayload,
  now: number,
): Promise<string> {
  const key = await currentKey(env, app.appId, app.tenantId, now);
  let imported = privateKeys.get(key.kid);
  if (!imported) {
    imported = decryptSecret(masterKeysOf(env), "sso-signing-key", key.privateCiphertext)
      .then((text) => importJWK(JSON.parse(text) as JWK, SSO_ALG))
      .then((k) => k as CryptoKey);
    privateKeys.set(key.kid, imported);
    imported.catch(() => privateKeys.delete(key.kid));
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SSO_ALG, kid: key.kid, typ: "JWT" })
    .sign(await imported);
}

/** The app's published keys: the current one and the one it replaced (none before a first use). */
export async function jwksOf(env: Env, appId: string): Promise<{ keys: JWK[] }> {
  const db = database(env.DB);
  const [current, previous] = await Promise.all([
    db.query.wechatSsoKeys.findFirst({
      where: and(eq(wechatSsoKeys.appId, appId), isNull(wechatSsoKeys.retiredAt)),
    }),
    db.query.wechatSsoKeys.findFirst({
      where: and(eq(wechatSsoKeys.appId, appId), isNotNull(wechatSsoKeys.retiredAt)),
      orderBy: [desc(wechatSsoKeys.retiredAt), desc(wechatSsoKeys.createdAt)],
    }),
  ]);
  return { keys: [current, previous].flatMap((row) => (row ? [row.publicJwk as JWK] : [])) };
}

/**
 * Retires the app's current key (if any) and makes a new one, audited; answers the new kid and
 * the retired one.
 */
export async function rotateSsoKey(
  env: Env,
  caller: Caller,
  appId: string,
  now: number = Date.now(),
): Promise<{ kid: string; previousKid: string | null }> {
  await getWeChatApp(env, caller, appId);
  const tenantId = caller.tenant.id;
  const db = database(env.DB);
  const before = await currentKeyRow(env, appId, tenantId);
  const next = await newKeyRow(env, appId, tenantId, now);
  await audited(
    env,
    caller,
    {
      action: "wechat_app.sso_key_rotate",
      target: appId,
      diff: diffOf({ kid: before?.kid ?? null }, { kid: next.kid }),
    },
    [
      db
        .update(wechatSsoKeys)
        .set({ retiredAt: now })
        .where(
          and(
            eq(wechatSsoKeys.appId, appId),
            eq(wechatSsoKeys.tenantId, tenantId),
            isNull(wechatSsoKeys.retiredAt),
          ),
        ),
      db.insert(wechatSsoKeys).values(next),
    ],
  );
  return { kid: next.kid, previousKid: before?.kid ?? null };
}
