/**
 * Invitations to join a tenant. The invited user's row is written at once (status `invited`, no
 * usable password) with an `invitations` row; the link carries an HS256 JWS of the invitation's id
 * under a key derived from MASTER_KEY ("relaybox invitations v1"), valid for 7 days. Accepting
 * (services/accounts/users) checks the signature and expiry, then the row: an accepted invitation,
 * or one whose user is no longer invited, is refused, so each link works once.
 *
 * No mail is sent: the link goes back to whoever invited, to pass on.
 */
import { jwtVerify, SignJWT } from "jose";
import { masterKeysOf, settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { invitations, users } from "../../db/schema";
import { deriveKey, UNMATCHABLE_PASSWORD_HASH } from "../../lib/crypto";
import { newId } from "../../lib/ids";

export const INVITATION_DAYS = 7;
const AUDIENCE = "relaybox:invitation";

/** Where an invitation's link leads: the dashboard's page that sets the password. */
export const INVITATION_PATH = "/dashboard/invitations/";

async function invitationKey(
  env: Env,
  masterKey = settingsOf(env).MASTER_KEY,
): Promise<Uint8Array> {
  const master = Uint8Array.from(atob(masterKey), (ch) => ch.charCodeAt(0));
  return deriveKey(master, "relaybox invitations v1");
}

export interface NewInvitation {
  tenantId: string;
  /** Trimmed and lower-cased by the caller's schema. */
  email: string;
  /** A built-in role or a custom role's id. */
  role: string;
  /** A user's id, an API key's id, or `platform`. */
  invitedBy: string;
}

export interface Invitation {
  id: string;
  userId: string;
  token: string;
  expiresAt: number;
}

/**
 * The invitation, and the statements that write it (the user's row, then the invitation's), for
 * the caller to run in its audited batch. An email already taken fails that batch on the users'
 * unique email index.
 */
export async function prepareInvitation(
  env: Env,
  invitation: NewInvitation,
  now: number = Date.now(),
) {
  const db = database(env.DB);
  const id = newId("inv", now);
  const userId = newId("usr", now);
  const expiresAt = now + INVITATION_DAYS * 86_400_000;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setJti(id)
    .setAudience(AUDIENCE)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(await invitationKey(env));
  const statements = [
    db.insert(users).values({
      id: userId,
      tenantId: invitation.tenantId,
      email: invitation.email,
      passwordHash: UNMATCHABLE_PASSWORD_HASH,
      role: invitation.role,
      status: "invited",
      createdAt: now,
    }),
    db.insert(invitations).values({
      id,
      tenantId: invitation.tenantId,
      userId,
      invitedBy: invitation.invitedBy,
      createdAt: now,
      expiresAt,
    }),
  ] as const;
  const prepared: Invitation = { id, userId, token, expiresAt };
  return { invitation: prepared, statements };
}

/** The link to hand the invited person, on this deployment's origin. */
export function invitationLink(origin: string, token: string): string {
  return `${origin}${INVITATION_PATH}${encodeURIComponent(token)}`;
}

/** The invitation id a link's token names, or null if it is not ours or has expired. */
export async function invitationIdOf(
  env: Env,
  token: string,
  now: number = Date.now(),
): Promise<string | null> {
  // A link signed before a rotation of MASTER_KEY still opens while MASTER_KEY_PREVIOUS is set.
  for (const masterKey of masterKeysOf(env)) {
    try {
      const { payload } = await jwtVerify(token, await invitationKey(env, masterKey), {
        algorithms: ["HS256"],
        audience: AUDIENCE,
        currentDate: new Date(now),
      });
      return typeof payload.jti === "string" ? payload.jti : null;
    } catch {
      // Not ours under this key, or expired: the next key, if any, decides.
    }
  }
  return null;
}
