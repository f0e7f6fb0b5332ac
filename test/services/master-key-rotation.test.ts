import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { masterKeysOf } from "../../src/config/settings";
import { database } from "../../src/db/client";
import { webhookEndpoints } from "../../src/db/schema";
import { codeHash, codeMatches } from "../../src/delivery/verification-codes";
import { newId } from "../../src/lib/ids";
import { decryptSecret, encryptSecret, reencryptSecret } from "../../src/lib/secrets";
import { invitationIdOf, prepareInvitation } from "../../src/services/accounts/invitations";
import {
  type ReencryptionPass,
  reencryptSecrets,
} from "../../src/services/accounts/secret-reencryption";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { platform } from "../support/platform";
import { createTenant, postJson } from "../support/tenants";

/** The key the tests run under (test/vitest.config.ts): "the old one" of these rotations. */
const OLD = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const NEW = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
const STRANGER = "c3RyYW5nZXJzdHJhbmdlcnN0cmFuZ2Vyc3RyYW5nZXI=";

/** The Worker's bindings after `MASTER_KEY=NEW`, `MASTER_KEY_PREVIOUS=OLD` and a deploy. */
const rotated = { ...env, MASTER_KEY: NEW, MASTER_KEY_PREVIOUS: OLD } as Env;
/** ... and after MASTER_KEY_PREVIOUS is removed. */
const finished = { ...env, MASTER_KEY: NEW } as Env;

const origin = { requestId: "req_test", ip: null };

async function addEndpoint(tenantId: string, masterKey: string, secret: string) {
  const id = newId("whk");
  await database(env.DB)
    .insert(webhookEndpoints)
    .values({
      id,
      tenantId,
      url: "https://example.com/hook",
      events: ["message.delivered"],
      secretCiphertext: await encryptSecret(masterKey, "webhook-secret", secret),
      createdAt: Date.now(),
      updatedAt: Date.now(),
    });
  return id;
}

async function storedSecret(id: string): Promise<string> {
  const row = await env.DB.prepare("SELECT secret_ciphertext FROM webhook_endpoints WHERE id = ?")
    .bind(id)
    .first<{ secret_ciphertext: string }>();
  return row?.secret_ciphertext ?? "";
}

describe("MASTER_KEY_PREVIOUS", () => {
  it("is tried after MASTER_KEY, and only when set and different", () => {
    expect(masterKeysOf(env)).toEqual([OLD]);
    expect(masterKeysOf(rotated)).toEqual([NEW, OLD]);
    expect(masterKeysOf({ ...env, MASTER_KEY_PREVIOUS: "" } as Env)).toEqual([OLD]);
    expect(masterKeysOf({ ...env, MASTER_KEY_PREVIOUS: OLD } as Env)).toEqual([OLD]);
  });

  it("decrypts a secret stored under the previous key, and not once that key is gone", async () => {
    const stored = await encryptSecret(OLD, "provider-credentials", '{"auth_token":"t0p"}');
    expect(await decryptSecret(masterKeysOf(rotated), "provider-credentials", stored)).toBe(
      '{"auth_token":"t0p"}',
    );
    await expect(
      decryptSecret(masterKeysOf(finished), "provider-credentials", stored),
    ).rejects.toThrow();
    // The purpose still binds under either key.
    await expect(decryptSecret(masterKeysOf(rotated), "webhook-secret", stored)).rejects.toThrow();
  });

  it("moves a value under the current key, leaves a current one alone and reports a stranger's", async () => {
    const old = await encryptSecret(OLD, "webhook-secret", "whsec_1");
    const moved = await reencryptSecret([NEW, OLD], "webhook-secret", old);
    expect(moved.outcome).toBe("reencrypted");
    const stored = moved.outcome === "reencrypted" ? moved.stored : "";
    expect(await decryptSecret(NEW, "webhook-secret", stored)).toBe("whsec_1");
    expect(await reencryptSecret([NEW, OLD], "webhook-secret", stored)).toEqual({
      outcome: "current",
    });
    const foreign = await encryptSecret(STRANGER, "webhook-secret", "whsec_2");
    expect(await reencryptSecret([NEW, OLD], "webhook-secret", foreign)).toEqual({
      outcome: "unreadable",
    });
  });

  it("still checks a verification code hashed before the rotation", async () => {
    const hash = await codeHash(env, "vrf_1", "123456");
    expect(await codeMatches(rotated, "vrf_1", "123456", hash)).toBe(true);
    expect(await codeMatches(rotated, "vrf_1", "654321", hash)).toBe(false);
    expect(await codeMatches(finished, "vrf_1", "123456", hash)).toBe(false);
    // New codes are hashed under the new key.
    expect(await codeHash(rotated, "vrf_1", "123456")).not.toBe(hash);
    expect(
      await codeMatches(finished, "vrf_1", "123456", await codeHash(rotated, "vrf_1", "123456")),
    ).toBe(true);
  });

  it("still opens an invitation link signed before the rotation", async () => {
    const tenant = await createTenant();
    const { invitation } = await prepareInvitation(env, {
      tenantId: tenant.id,
      email: "a@example.com",
      role: "agent",
      invitedBy: "platform",
    });
    expect(await invitationIdOf(rotated, invitation.token)).toBe(invitation.id);
    expect(await invitationIdOf(finished, invitation.token)).toBeNull();
  });
});

describe("re-encrypting stored secrets", () => {
  it("moves every secret under the new key in bounded batches, audited, and is safe to repeat", async () => {
    const [a, b] = [await createTenant(), await createTenant()];
    const ids = [
      await addEndpoint(a.id, OLD, "whsec_a1"),
      await addEndpoint(a.id, OLD, "whsec_a2"),
      await addEndpoint(b.id, OLD, "whsec_b1"),
      await addEndpoint(b.id, NEW, "whsec_b2"),
    ];
    const lost = await addEndpoint(b.id, STRANGER, "whsec_lost");
    const lostBefore = await storedSecret(lost);

    const passes: ReencryptionPass[] = [];
    let cursor: string | undefined;
    do {
      const pass = await reencryptSecrets(rotated, { cursor, limit: 2 }, origin);
      expect(pass.scanned).toBeLessThanOrEqual(2);
      passes.push(pass);
      cursor = pass.nextCursor ?? undefined;
    } while (cursor !== undefined && passes.length < 20);
    expect(cursor).toBeUndefined();
    const total = (field: "reencrypted" | "current" | "scanned") =>
      passes.reduce((sum, pass) => sum + pass[field], 0);
    expect(total("reencrypted")).toBe(3);
    expect(total("current")).toBe(1);
    expect(passes.flatMap((pass) => pass.unreadable)).toEqual([
      { table: "webhook_endpoints", id: lost },
    ]);

    // Everything opens under the new key alone; the unreadable row is untouched.
    const plain = await Promise.all(
      ids.map(async (id) => decryptSecret(NEW, "webhook-secret", await storedSecret(id))),
    );
    expect(plain).toEqual(["whsec_a1", "whsec_a2", "whsec_b1", "whsec_b2"]);
    expect(await storedSecret(lost)).toBe(lostBefore);

    // One entry per tenant and batch, naming the rows, by the platform.
    const entries = (await listAuditEntries(env, a.id, {}, { limit: 100 })).data;
    expect(entries.filter((entry) => entry.action === "secrets.re_encrypt")).not.toHaveLength(0);
    const named = [a.id, b.id].map(async (tenantId) =>
      (await listAuditEntries(env, tenantId, { action: "secrets.re_encrypt" }, { limit: 100 })).data
        .map((entry) => ({ actor: entry.actorType, ids: JSON.parse(entry.diff).ids.to }))
        .flatMap(({ actor, ids }) => ids.map((id: string) => `${actor}:${id}`)),
    );
    expect((await Promise.all(named)).flat().sort()).toEqual(
      ids
        .slice(0, 3)
        .map((id) => `platform:${id}`)
        .sort(),
    );

    // A second run changes nothing.
    const again = await reencryptSecrets(
      rotated,
      { cursor: "webhook_endpoints:", limit: 100 },
      origin,
    );
    expect(again).toMatchObject({ scanned: 5, reencrypted: 0, current: 4 });
  });

  it("does not overwrite a secret rotated between the read and the write", async () => {
    const tenant = await createTenant();
    const id = await addEndpoint(tenant.id, OLD, "whsec_before");
    const db = database(env.DB);
    // The compare-and-set: a row whose ciphertext changed since it was read is left as it is now.
    const fresh = await encryptSecret(NEW, "webhook-secret", "whsec_after");
    let swapped = false;
    const racing = {
      ...env,
      MASTER_KEY: NEW,
      MASTER_KEY_PREVIOUS: OLD,
      DB: new Proxy(env.DB, {
        get(target, property) {
          if (property === "batch" && !swapped) {
            swapped = true;
            return async (statements: D1PreparedStatement[]) => {
              await db
                .update(webhookEndpoints)
                .set({ secretCiphertext: fresh })
                .where(eq(webhookEndpoints.id, id));
              return target.batch(statements);
            };
          }
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    } as Env;
    const pass = await reencryptSecrets(
      racing,
      { cursor: "webhook_endpoints:", limit: 100 },
      origin,
    );
    expect(swapped).toBe(true);
    expect(pass.reencrypted).toBe(0);
    expect(await storedSecret(id)).toBe(fresh);
  });
});

describe("POST /v1/platform/master-key/reencrypt", () => {
  it("visits the stored secrets and answers the next cursor", async () => {
    const res = await platform("/v1/platform/master-key/reencrypt", postJson({ limit: 100 }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ reencrypted: 0, unreadable: [] });
    expect(body.next_cursor).toBe("wechat_apps:");
  });

  it("refuses a cursor it did not give and a limit over 100, as problem+json", async () => {
    const bad = await platform(
      "/v1/platform/master-key/reencrypt",
      postJson({ cursor: "users:usr_1" }),
    );
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    expect(((await bad.json()) as { errors: unknown[] }).errors).toEqual([
      { pointer: "/cursor", detail: "must be a next_cursor of an earlier call" },
    ]);
    const big = await platform("/v1/platform/master-key/reencrypt", postJson({ limit: 500 }));
    expect(big.status).toBe(400);
    expect(((await big.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe(
      "/limit",
    );
  });

  it("is the platform's alone: a tenant's key is refused", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/platform/master-key/reencrypt", postJson({}));
    expect([401, 403]).toContain(res.status);
    expect((await platform("/v1/platform/master-key/reencrypt", postJson({}))).status).toBe(200);
  });
});
