import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyPassword } from "../../src/lib/crypto";
import { ApiError } from "../../src/lib/problem";
import {
  bumpSessionVersion,
  pruneDashboardSignIns,
  readSession,
  type SignInOptions,
  signIn,
} from "../../src/services/accounts/dashboard-auth";
import { addUser, form, type TestUser } from "../support/dashboard";
import { expectProblem } from "../support/problem";
import { call, createTenant } from "../support/tenants";

const MINUTE = 60_000;
const WINDOW = 15 * MINUTE;
/** What the account waits after its nth failure (n = 1…9) before its next attempt. */
const WAITS_S = [0, 0, 1, 2, 4, 8, 16, 30, 30];

/** A password check that records the stored hashes it was asked to check against. */
function countingCheck() {
  const checked: string[] = [];
  const verify: SignInOptions["verifyPassword"] = (password, storedHash) => {
    checked.push(storedHash);
    return verifyPassword(password, storedHash);
  };
  return { checked, verify };
}

async function refusal(attempt: Promise<unknown>): Promise<ApiError> {
  const error = await attempt.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** Ten wrong passwords, each as soon as the growing waits let it; returns when the last was. */
async function tenFailures(email: string, ip: string, from: number, options: SignInOptions = {}) {
  let at = from;
  for (let n = 1; n <= 10; n++) {
    const result = await signIn(
      env,
      { email, password: `guess ${n}`, ip },
      { ...options, now: at },
    );
    expect(result, `failure ${n}`).toBeUndefined();
    if (n < 10) {
      at += (WAITS_S[n - 1] ?? 0) * 1000;
    }
  }
  return at;
}

describe("dashboard sign-in throttling", () => {
  it("makes each attempt after the third failure wait longer: 1, 2, 4, 8, 16, then 30 s", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const ip = "203.0.113.1";
    let at = Date.now() - 10 * MINUTE;
    for (let n = 1; n <= 9; n++) {
      await signIn(env, { email: user.email, password: "wrong", ip }, { now: at });
      const wait = WAITS_S[n - 1] ?? 0;
      if (wait > 0) {
        const early = await refusal(
          signIn(env, { email: user.email, password: user.password, ip }, { now: at + 1 }),
        );
        expect(early.status).toBe(429);
        expect(early.headers?.["Retry-After"], `after failure ${n}`).toBe(String(wait));
      }
      at += wait * 1000;
    }
  });

  it("refuses the eleventh attempt in 15 minutes, right password or not, without checking it", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const ip = "203.0.113.2";
    const first = Date.now() - 10 * MINUTE;
    const { checked, verify } = countingCheck();
    const last = await tenFailures(user.email, ip, first, { verifyPassword: verify });
    expect(checked).toHaveLength(10);

    const eleventh = await refusal(
      signIn(
        env,
        { email: user.email, password: user.password, ip },
        { now: last + MINUTE, verifyPassword: verify },
      ),
    );
    expect(eleventh.slug).toBe("rate-limited");
    const untilFirstLeaves = Math.ceil((first + WINDOW - (last + MINUTE)) / 1000);
    expect(eleventh.headers?.["Retry-After"]).toBe(String(untilFirstLeaves));
    expect(checked).toHaveLength(10);

    // The Worker answers it as a problem, in real time (the failures are from 10 minutes ago).
    const res = await call(
      "/dashboard/login",
      null,
      form({ email: user.email, password: user.password }, undefined, { "cf-connecting-ip": ip }),
    );
    expect(res.headers.get("set-cookie")).toBeNull();
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(5 * 60);
    await expectProblem(res, { status: 429, slug: "rate-limited", instance: "/dashboard/login" });

    // Still refused just before the first failure leaves the window; let in just after.
    const right = { email: user.email, password: user.password, ip };
    await refusal(signIn(env, right, { now: first + WINDOW - 1 }));
    const signedIn = await signIn(env, right, { now: first + WINDOW + 1 });
    expect(signedIn?.session.userId).toBe(user.id);
    // The right password forgives this address's failures: a typo next is a plain wrong password.
    const typo = await signIn(env, { ...right, password: "typo" }, { now: first + WINDOW + 2 });
    expect(typo).toBeUndefined();
  });

  it("checks at most ten of twenty guesses sent at once", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const { checked, verify } = countingCheck();
    const now = Date.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        signIn(
          env,
          { email: user.email, password: `parallel ${i}`, ip: `203.0.113.${100 + i}` },
          { now, verifyPassword: verify },
        ),
      ),
    );
    expect(checked.length).toBeLessThanOrEqual(10);
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(refused).toHaveLength(20 - checked.length);
    for (const outcome of refused) {
      expect(outcome.reason).toBeInstanceOf(ApiError);
    }
  });

  it("refuses the account's owner at another address too: the limit is the account's", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const first = Date.now() - 10 * MINUTE;
    const last = await tenFailures(user.email, "203.0.113.3", first);
    const owner = { email: user.email, password: user.password, ip: "203.0.113.4" };
    await refusal(signIn(env, owner, { now: last + 1000 }));
  });

  it("treats an unknown email as a known one: the same PBKDF2 check, the same limits", async () => {
    const tenant = await createTenant();
    const known = await addUser(tenant, "admin");
    const { checked, verify } = countingCheck();
    const ip = "203.0.113.5";
    await signIn(env, { email: known.email, password: "wrong", ip }, { verifyPassword: verify });
    const unknown = { email: "nobody@example.com", password: "guess", ip: "203.0.113.6" };
    expect(await signIn(env, unknown, { verifyPassword: verify })).toBeUndefined();
    expect(checked).toHaveLength(2);
    const [knownHash = "", unknownHash = ""] = checked;
    // Same scheme and iteration count: the same 100,000-iteration PBKDF2 runs for both.
    const costOf = (hash: string) => hash.split("$").slice(0, 2).join("$");
    expect(costOf(unknownHash)).toBe(costOf(knownHash));
    expect(costOf(unknownHash)).toBe("pbkdf2-sha256$100000");

    const first = Date.now() - 10 * MINUTE;
    const last = await tenFailures("stranger@example.com", "203.0.113.7", first);
    await refusal(
      signIn(
        env,
        { email: "stranger@example.com", password: "x", ip: "203.0.113.7" },
        { now: last + 1000 },
      ),
    );
  });

  it("refuses an address after fifty failures, whichever accounts they were for", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const cheap: SignInOptions = { verifyPassword: async () => false };
    const ip = "2001:db8:5:7::1";
    const now = Date.now();
    for (let i = 0; i < 50; i++) {
      const attempt = { email: `sprayed-${i}@example.com`, password: "Summer2026!", ip };
      await signIn(env, attempt, { ...cheap, now: now - 50_000 + i * 1000 });
    }
    // Another address in the same /64 is the same client.
    const sameClient = { email: user.email, password: user.password, ip: "2001:db8:5:7::99" };
    const refused = await refusal(signIn(env, sameClient, { now }));
    expect(refused.headers?.["Retry-After"]).toBe(String(15 * 60 - 50));
    const elsewhere = { ...sameClient, ip: "2001:db8:5:8::1" };
    expect((await signIn(env, elsewhere, { now }))?.session.userId).toBe(user.id);
  });
});

describe("dashboard sessions", () => {
  async function session(user: TestUser, now?: number) {
    const signedIn = await signIn(
      env,
      { email: user.email, password: user.password, ip: "198.18.0.1" },
      { now },
    );
    if (!signedIn) {
      throw new Error("sign-in failed");
    }
    return signedIn.token;
  }

  it("ends every session of a user at once when their version is bumped", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "operator");
    const [laptop, phone] = [await session(user), await session(user)];
    expect((await readSession(env, laptop))?.role).toBe("operator");
    expect(await readSession(env, phone)).toBeDefined();
    await bumpSessionVersion(env, user.id);
    expect(await readSession(env, laptop)).toBeUndefined();
    expect(await readSession(env, phone)).toBeUndefined();
    expect(await readSession(env, await session(user))).toBeDefined();
  });

  it("lasts 12 hours", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const start = Date.now();
    const token = await session(user, start);
    expect(await readSession(env, token, start + 12 * 60 * MINUTE - 1)).toBeDefined();
    expect(await readSession(env, token, start + 12 * 60 * MINUTE)).toBeUndefined();
  });

  it("prunes sessions that can no longer sign in and attempts that no longer count", async () => {
    const tenant = await createTenant();
    const [kept, revoked] = [await addUser(tenant, "admin"), await addUser(tenant, "admin")];
    const now = Date.now();
    await session(kept, now - 13 * 60 * MINUTE); // expired
    const live = await session(kept, now);
    await session(revoked, now);
    await bumpSessionVersion(env, revoked.id);
    await signIn(
      env,
      { email: kept.email, password: "old", ip: "198.51.100.9" },
      { now: now - WINDOW - 1 },
    );
    await signIn(env, { email: kept.email, password: "new", ip: "198.51.100.9" }, { now });

    await pruneDashboardSignIns(env, now);
    const sessions = await env.DB.prepare(
      "SELECT user_id FROM dashboard_sessions WHERE user_id IN (?, ?)",
    )
      .bind(kept.id, revoked.id)
      .all<{ user_id: string }>();
    expect(sessions.results.map((row) => row.user_id)).toEqual([kept.id]);
    expect(await readSession(env, live)).toBeDefined();
    const attempts = await env.DB.prepare(
      "SELECT at FROM sign_in_attempts WHERE address = '198.51.100.9'",
    ).all<{ at: number }>();
    expect(attempts.results.map((row) => row.at)).toEqual([now]);
  });
});
