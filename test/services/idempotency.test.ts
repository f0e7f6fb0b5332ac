/**
 * The Idempotency-Key helper of the creating POSTs: once `create()` has returned, its key is never
 * freed, whatever fails after; what a retry gets then depends on whether create may run again.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/problem";
import { CLAIM_LEASE_MS, type Claim, idempotent } from "../../src/services/messaging/idempotency";
import { flakyD1, storesIdempotentAnswer } from "../support/flaky";

const TENANT = "tnt_01JD3M6Y8Z5Q7K2N4P6R8T0VAA";

/** A create that counts its runs and the claims it ran under. */
function counted(fail?: () => Error) {
  const claims: Claim[] = [];
  const create = async (claim: Claim) => {
    claims.push(claim);
    if (fail) {
      throw fail();
    }
    return { status: 201, body: { id: `res_${claims.length}` } };
  };
  return { create, claims };
}

function scope(key: string, rerunnable = false) {
  return { tenantId: TENANT, operation: "POST /v1/things", key, request: { n: 1 }, rerunnable };
}

async function problemOf(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("idempotent()", () => {
  it("answers what it created when the answer cannot be stored, and never creates again for the key", async () => {
    const { create, claims } = counted();
    const flaky = flakyD1(env.DB, storesIdempotentAnswer);
    const t0 = Date.now();

    const first = await idempotent(
      { ...env, DB: flaky.db },
      scope("store-fails"),
      create,
      undefined,
      t0,
    );
    expect(flaky.failures()).toBe(1);
    expect(first).toEqual({ status: 201, body: { id: "res_1" }, replayed: false });

    const early = await problemOf(idempotent(env, scope("store-fails"), create, undefined, t0 + 1));
    expect(early.slug).toBe("conflict");
    expect(early.message).toMatch(/in progress/);
    expect(early.headers?.["Retry-After"]).toBe(String(Math.ceil(CLAIM_LEASE_MS / 1000)));

    // Not safe to run again: after the lease the retry is told the outcome was not recorded.
    const late = await problemOf(
      idempotent(env, scope("store-fails"), create, undefined, t0 + CLAIM_LEASE_MS),
    );
    expect(late.slug).toBe("conflict");
    expect(late.message).toMatch(/not recorded/);
    expect(claims).toHaveLength(1);
  });

  it("runs a rerunnable create again after the lease under the claim it first ran under", async () => {
    const { create, claims } = counted();
    const flaky = flakyD1(env.DB, storesIdempotentAnswer);
    const t0 = Date.now();

    await idempotent({ ...env, DB: flaky.db }, scope("rerun", true), create, undefined, t0);
    await problemOf(idempotent(env, scope("rerun", true), create, undefined, t0 + 1));
    const again = await idempotent(
      env,
      scope("rerun", true),
      create,
      undefined,
      t0 + CLAIM_LEASE_MS,
    );
    expect(again.replayed).toBe(false);
    expect(claims).toHaveLength(2);
    expect(claims[1]).toEqual(claims[0]);
    expect(claims[0]?.at).toBe(t0);

    const replayed = await idempotent(
      env,
      scope("rerun", true),
      create,
      undefined,
      t0 + CLAIM_LEASE_MS + 1,
    );
    expect(replayed).toEqual({ ...again, replayed: true });
    expect(claims).toHaveLength(2);
  });

  it("derives the claim's seed from the tenant, the key and the claim's time", async () => {
    const { create, claims } = counted();
    const t0 = Date.now();
    await idempotent(env, scope("seed-a", true), create, undefined, t0);
    await idempotent(env, scope("seed-b", true), create, undefined, t0);
    await idempotent(env, scope(""), create, undefined, t0);
    await idempotent(env, scope(""), create, undefined, t0);
    const seeds = claims.map((claim) => Array.from(claim.seed).join(","));
    expect(new Set(seeds).size).toBe(4);
    expect(claims.every((claim) => claim.seed.length === 32)).toBe(true);
  });

  it("keeps the claim when a rerunnable create fails unexpectedly, and frees it when create refuses", async () => {
    const t0 = Date.now();
    const lost = counted(() => new Error("Network connection lost."));
    await expect(
      idempotent(env, scope("unknown", true), lost.create, undefined, t0),
    ).rejects.toThrow(/connection lost/);
    const held = await problemOf(
      idempotent(env, scope("unknown", true), counted().create, undefined, t0 + 1),
    );
    expect(held.message).toMatch(/in progress/);

    const refused = counted(() => new ApiError("validation-error", "no"));
    await expect(
      idempotent(env, scope("refused", true), refused.create, undefined, t0),
    ).rejects.toBeInstanceOf(ApiError);
    const retry = await idempotent(
      env,
      scope("refused", true),
      counted().create,
      undefined,
      t0 + 1,
    );
    expect(retry.status).toBe(201);
  });

  it("frees the key when a create that is not rerunnable fails", async () => {
    const t0 = Date.now();
    const failing = counted(() => new Error("D1_ERROR: busy"));
    await expect(idempotent(env, scope("plain"), failing.create, undefined, t0)).rejects.toThrow(
      /busy/,
    );
    const retry = await idempotent(env, scope("plain"), counted().create, undefined, t0 + 1);
    expect(retry).toEqual({ status: 201, body: { id: "res_1" }, replayed: false });
  });
});
