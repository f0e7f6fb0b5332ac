import { describe, expect, it } from "vitest";
import { KeyRequestLimiter } from "../../src/middleware/rate-limit";
import { expectProblem } from "../support/problem";
import { expectNothingStored } from "../support/send-log";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

/**
 * The limits here are small (1 request/s, bursts of 2) and the clock is real: the requests that
 * exhaust a bucket run well within its one-second refill, and a wait of 1.1 s refills one token.
 */
const ONE_PER_SECOND = { per_second: 1, burst: 2 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createLimitedKey(
  tenant: TestTenant,
  scopes: string[],
  rateLimit: { per_second: number; burst?: number } = ONE_PER_SECOND,
): Promise<{ id: string; key: string }> {
  const res = await tenant.api(
    "/v1/keys",
    postJson({ name: "limited", scopes, rate_limit: rateLimit }),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

async function expectRateLimited(res: Response, instance: string, detail: RegExp) {
  await expectProblem(res, { status: 429, slug: "rate-limited", instance, detail });
  const retryAfter = res.headers.get("retry-after");
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  return Number(retryAfter);
}

describe("per-key request limit", () => {
  it("refuses the request past the burst with 429, then lets one through after a refill", async () => {
    const tenant = await createTenant();
    const { key } = await createLimitedKey(tenant, ["messages:read"]);

    expect((await call("/v1/messages", key)).status).toBe(200);
    expect((await call("/v1/messages", key)).status).toBe(200);
    const refused = await call("/v1/messages", key);
    const retryAfter = await expectRateLimited(
      refused,
      "/v1/messages",
      /1 request per second \(bursts of up to 2\)/,
    );
    // At 1 token per second the next token is never more than a second away.
    expect(retryAfter).toBe(1);

    await sleep(1100);
    expect((await call("/v1/messages", key)).status).toBe(200);
  });

  it("stores nothing for a POST /v1/messages refused with 429, not even its Idempotency-Key", async () => {
    const tenant = await createTenant();
    const { key } = await createLimitedKey(tenant, ["messages:send"], { per_second: 1, burst: 1 });
    const send = (idempotencyKey: string) =>
      call(
        "/v1/messages",
        key,
        postJson({ to: "+8613800138000", body: "hi" }, { "idempotency-key": idempotencyKey }),
      );

    const accepted = await send("first");
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    await expectRateLimited(await send("second"), "/v1/messages", /1 request per second/);
    await expectNothingStored(tenant, [id]);

    await sleep(1100);
    const retried = await send("second");
    expect(retried.status).toBe(202);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(((await retried.json()) as { id: string }).id).not.toBe(id);
  });

  it("limits each key on its own: exhausting one leaves the tenant's other keys alone", async () => {
    const tenant = await createTenant();
    const exhausted = await createLimitedKey(tenant, ["messages:read"]);
    const sibling = await createLimitedKey(tenant, ["messages:read"]);

    for (let i = 0; i < 2; i++) {
      expect((await call("/v1/messages", exhausted.key)).status).toBe(200);
    }
    expect((await call("/v1/messages", exhausted.key)).status).toBe(429);

    expect((await call("/v1/messages", sibling.key)).status).toBe(200);
    expect((await call("/v1/messages", sibling.key)).status).toBe(200);
    expect((await tenant.api("/v1/messages")).status).toBe(200);
    expect((await tenant.api("/v1/keys")).status).toBe(200);
  });

  it("spends no tokens on requests refused with 403", async () => {
    const tenant = await createTenant();
    const { key } = await createLimitedKey(tenant, ["messages:read"]);

    for (let i = 0; i < 5; i++) {
      expect((await call("/v1/keys", key)).status).toBe(403);
    }
    expect((await call("/v1/messages", key)).status).toBe(200);
    expect((await call("/v1/messages", key)).status).toBe(200);
    expect((await call("/v1/messages", key)).status).toBe(429);
  });

  it("applies a lowered limit at once in the isolate that changed it", async () => {
    const tenant = await createTenant();
    const limited = await tenant.addKey(["messages:read"]);
    // Cached with the default limit (200/s, bursts of 400) by its first request.
    expect((await call("/v1/messages", limited.key)).status).toBe(200);

    const patched = await tenant.api(`/v1/keys/${limited.id}`, {
      method: "PATCH",
      body: JSON.stringify({ rate_limit: ONE_PER_SECOND }),
    });
    expect(patched.status).toBe(200);

    expect((await call("/v1/messages", limited.key)).status).toBe(200);
    expect((await call("/v1/messages", limited.key)).status).toBe(200);
    await expectRateLimited(
      await call("/v1/messages", limited.key),
      "/v1/messages",
      /bursts of up to 2/,
    );
  });

  it("applies to the keys routes too, naming the key's own limit", async () => {
    const tenant = await createTenant();
    const { key } = await createLimitedKey(tenant, ["admin"], { per_second: 3, burst: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await call("/v1/keys", key)).status).toBe(200);
    }
    await expectRateLimited(
      await call("/v1/keys", key, postJson({ name: "more", scopes: ["admin"] })),
      "/v1/keys",
      /3 requests per second \(bursts of up to 3\)/,
    );
    const listed = await tenant.api("/v1/keys");
    const page = (await listed.json()) as { data: { name: string }[] };
    expect(page.data.map((k) => k.name)).not.toContain("more");
  });
});

describe("KeyRequestLimiter (injected clock)", () => {
  const limit = { perSecond: 2, burst: 3 };

  it("admits a burst, then refuses until the rate refills a token", () => {
    const limiter = new KeyRequestLimiter();
    for (let i = 0; i < 3; i++) {
      expect(limiter.admit("key_a", limit, 0)).toEqual({ ok: true });
    }
    expect(limiter.admit("key_a", limit, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.admit("key_a", limit, 499)).toMatchObject({ ok: false });
    expect(limiter.admit("key_a", limit, 500)).toEqual({ ok: true });
  });

  it("rounds Retry-After up to a whole second, never down to 0", () => {
    const limiter = new KeyRequestLimiter();
    const fast = { perSecond: 100_000, burst: 100_000 };
    for (let i = 0; i < 100_000; i++) {
      limiter.admit("key_fast", fast, 0);
    }
    expect(limiter.admit("key_fast", fast, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it("keeps one bucket per key", () => {
    const limiter = new KeyRequestLimiter();
    const single = { perSecond: 1, burst: 1 };
    expect(limiter.admit("key_a", single, 0).ok).toBe(true);
    expect(limiter.admit("key_a", single, 0).ok).toBe(false);
    expect(limiter.admit("key_b", single, 0).ok).toBe(true);
  });

  it("caps a bucket at a lowered burst without starting it over", () => {
    const limiter = new KeyRequestLimiter();
    expect(limiter.admit("key_a", { perSecond: 200, burst: 400 }, 0).ok).toBe(true);
    const lowered = { perSecond: 1, burst: 2 };
    expect(limiter.admit("key_a", lowered, 1).ok).toBe(true);
    expect(limiter.admit("key_a", lowered, 1).ok).toBe(true);
    expect(limiter.admit("key_a", lowered, 1).ok).toBe(false);
  });

  it("holds at most its maximum of buckets, forgetting the least recently used", () => {
    const limiter = new KeyRequestLimiter(2);
    const single = { perSecond: 1, burst: 1 };
    limiter.admit("key_a", single, 0);
    limiter.admit("key_b", single, 0);
    expect(limiter.admit("key_a", single, 0).ok).toBe(false);
    limiter.admit("key_c", single, 0);
    expect(limiter.size).toBe(2);
    // key_a, used more recently than key_b, kept its (empty) bucket; key_b's was forgotten.
    expect(limiter.admit("key_a", single, 0).ok).toBe(false);
    expect(limiter.admit("key_b", single, 0).ok).toBe(true);
    expect(limiter.size).toBe(2);
  });
});
