/**
 * Dashboard sign-in. Sessions are short-lived JWTs (HS256, jose) in an HttpOnly, SameSite=Strict
 * cookie, keyed by a key derived from MASTER_KEY; each carries its own CSRF token for forms.
 */
import { eq } from "drizzle-orm";
import { jwtVerify, SignJWT } from "jose";
import { settingsOf } from "../config/settings";
import { database } from "../db/client";
import { ROLES, type Role, users } from "../db/schema";
import { randomToken, verifyPassword } from "../lib/crypto";

const SESSION_HOURS = 12;

export interface Session {
  userId: string;
  tenantId: string;
  email: string;
  role: Role;
  csrf: string;
}

async function sessionKey(env: Env): Promise<Uint8Array> {
  const master = Uint8Array.from(atob(settingsOf(env).MASTER_KEY), (ch) => ch.charCodeAt(0));
  const base = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(),
      info: new TextEncoder().encode("relaybox dashboard session v1"),
    },
    base,
    256,
  );
  return new Uint8Array(bits);
}

/** The user for an email and password, or undefined; the same work is done for unknown emails. */
export async function signIn(
  env: Env,
  email: string,
  password: string,
): Promise<Session | undefined> {
  const user = await database(env.DB).query.users.findFirst({
    where: eq(users.email, email.trim().toLowerCase()),
  });
  const ok = await verifyPassword(
    password,
    user?.passwordHash ?? "pbkdf2-sha256$100000$00000000000000000000000000000000$00",
  );
  if (!user || !ok) {
    return undefined;
  }
  return {
    userId: user.id,
    tenantId: user.tenantId,
    email: user.email,
    role: user.role,
    csrf: randomToken(24),
  };
}

export async function issueSessionToken(env: Env, session: Session): Promise<string> {
  return new SignJWT({
    tid: session.tenantId,
    email: session.email,
    role: session.role,
    csrf: session.csrf,
  })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(session.userId)
    .setIssuedAt()
    .setExpirationTime(`${SESSION_HOURS}h`)
    .sign(await sessionKey(env));
}

export async function readSessionToken(env: Env, token: string): Promise<Session | undefined> {
  try {
    const { payload } = await jwtVerify(token, await sessionKey(env), { algorithms: ["HS256"] });
    const role = ROLES.find((r) => r === payload.role);
    if (!payload.sub || typeof payload.tid !== "string" || !role) {
      return undefined;
    }
    return {
      userId: payload.sub,
      tenantId: payload.tid,
      email: String(payload.email),
      role,
      csrf: String(payload.csrf),
    };
  } catch {
    return undefined;
  }
}

export const SESSION_MAX_AGE_SECONDS = SESSION_HOURS * 3600;
