/**
 * The two signed tokens of the WeChat OAuth binding (oauth.ts): the link a tenant hands a person,
 * naming what it binds, and the state that stands for it while the person is at WeChat. Both are
 * HS256 JWSs under a key derived from MASTER_KEY with HKDF ("relaybox wechat oauth v1"). A link has
 * an audience and no `jti`, a state a `jti` and no audience, so neither can stand in for the other;
 * a state holds only its id and expiry, because WeChat takes a state of at most 128 bytes.
 */
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { masterKeysOf, settingsOf } from "../../config/settings";
import { deriveKey } from "../../lib/crypto";

export const OAUTH_SCOPES = ["snsapi_base", "snsapi_userinfo"] as const;
export type OAuthScope = (typeof OAUTH_SCOPES)[number];

/** How long a link, and the state made from it, can be used. */
export const TTL_SECONDS = 600;
const LINK_AUDIENCE = "relaybox:wechat-oauth-link";

/** What a link and its state stand for (`sub`: the contact's id, `ext`: its external id). */
export const Binding = z.object({
  tid: z.string(),
  sub: z.string(),
  ext: z.string(),
  app: z.string(),
  scope: z.enum(OAUTH_SCOPES),
  redirect: z.string(),
});
export type Binding = z.infer<typeof Binding>;

async function oauthKey(env: Env, masterKey = settingsOf(env).MASTER_KEY): Promise<Uint8Array> {
  const master = Uint8Array.from(atob(masterKey), (ch) => ch.charCodeAt(0));
  return deriveKey(master, "relaybox wechat oauth v1");
}

/** The link's `sig`, valid until `expiresAt` (seconds). */
export async function signLink(
  env: Env,
  { sub, ...claims }: Binding,
  now: number,
  expiresAt: number,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setAudience(LINK_AUDIENCE)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(expiresAt)
    .sign(await oauthKey(env));
}

/** What a link's `sig` binds, or null if it is not one of ours, or has expired. */
export async function readLink(env: Env, sig: string, now: number): Promise<Binding | null> {
  const binding = Binding.safeParse(await verified(env, sig, LINK_AUDIENCE, now));
  return binding.success ? binding.data : null;
}

/** A state standing for the record kept under `jti`, valid until `expiresAt` (seconds). */
export async function signState(env: Env, jti: string, expiresAt: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setJti(jti)
    .setExpirationTime(expiresAt)
    .sign(await oauthKey(env));
}

/** The `jti` of a state, or null if it is not one of ours, or has expired. */
export async function readState(env: Env, state: string, now: number): Promise<string | null> {
  const payload = await verified(env, state, undefined, now);
  return payload && typeof payload.jti === "string" ? payload.jti : null;
}

/** The claims of a link (`audience` given) or of a state (no audience, a `jti`), or null. */
async function verified(
  env: Env,
  token: string,
  audience: string | undefined,
  now: number,
): Promise<Record<string, unknown> | null> {
  // A link signed before a rotation of MASTER_KEY still opens while MASTER_KEY_PREVIOUS is set.
  for (const masterKey of masterKeysOf(env)) {
    try {
      const { payload } = await jwtVerify(token, await oauthKey(env, masterKey), {
        algorithms: ["HS256"],
        audience,
        currentDate: new Date(now),
        requiredClaims: audience ? ["exp"] : ["exp", "jti"],
      });
      if (!audience && payload.aud !== undefined) {
        return null;
      }
      return payload;
    } catch {
      // Not ours under this key, or expired: the next key, if any, decides.
    }
  }
  return null;
}
