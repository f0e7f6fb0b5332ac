import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { platformNumberLimiterOf } from "../../src/delivery/verification-limiters";
import { PLATFORM_NUMBER_PER_DAY } from "../../src/domain/verification-limits";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";
import { flushVerifications } from "../support/verifications";

describe("verifications security", () => {
  it("another tenant's verification is a 404 identical to a missing one, to read, check and cancel", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const started = await owner.api("/v1/verifications", postJson({ to: "+14155550190" }));
    const { id } = (await started.json()) as { id: string };
    for (const [path, init] of [
      [`/v1/verifications/${id}`, undefined],
      [`/v1/verifications/${id}/cancel`, { method: "POST" }],
      ["/v1/verifications/check", postJson({ id, code: "123456" })],
    ] as const) {
      const theirs = await other.api(path, init);
      const missing = await other.api(
        path.replace(id, "vrf_missing"),
        init && {
          ...init,
          ...(init.body ? { body: String(init.body).replace(id, "vrf_missing") } : {}),
        },
      );
      const a = await expectProblem(theirs, { status: 404, slug: "not-found", instance: path });
      const b = await expectProblem(missing, {
        status: 404,
        slug: "not-found",
        instance: path.replace(id, "vrf_missing"),
      });
      expect(a.detail.replace(id, "X")).toBe(b.detail.replace("vrf_missing", "X"));
    }
    // Checking by number finds only the caller's own.
    const byNumber = await other.api(
      "/v1/verifications/check",
      postJson({ to: "+14155550190", code: "123456" }),
    );
    expect(byNumber.status).toBe(404);
  });

  it("another tenant's tries change nothing of the owner's, and its stats count none of it", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const to = "+14155550192";
    const started = await owner.api("/v1/verifications", postJson({ to }));
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as { id: string };
    await other.api(`/v1/verifications/${id}/cancel`, { method: "POST" });
    for (let i = 0; i < 5; i++) {
      await other.api("/v1/verifications/check", postJson({ id, code: "000000" }));
      await other.api("/v1/verifications/check", postJson({ to, code: "000000" }));
    }
    const read = await owner.api(`/v1/verifications/${id}`);
    expect(read.status).toBe(200);
    const view = await read.json();
    expect(view).toMatchObject({ id, to, status: "pending", attempts_left: 5, send_count: 1 });
    expect(view).not.toHaveProperty("sandbox_code");
    await flushVerifications(owner.id);
    const today = new Date().toISOString().slice(0, 10);
    const stats = async (tenant: typeof owner) => {
      const res = await tenant.api(`/v1/verifications/stats?from=${today}&to=${today}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: { started: number; sent: number }[] }).data[0];
    };
    expect(await stats(owner)).toMatchObject({ started: 1, sent: 1 });
    expect(await stats(other)).toMatchObject({ started: 0, sent: 0, refusals: {} });
  });

  it("keeps a test key's codes apart from live ones: limits, the platform cap, reads and stats", async () => {
    const tenant = await createTenant();
    const { key: testKey } = await tenant.addKey(["admin"], "test");
    const asTest = (path: string, init?: RequestInit) => call(path, testKey, init);
    const to = `+1415557${String(Date.now() % 10_000).padStart(4, "0")}`;

    const live = await tenant.api("/v1/verifications", postJson({ to }));
    expect(live.status).toBe(201);
    const { id: liveId } = (await live.json()) as { id: string };
    // The live code used the number's minute; a test key's code counts only among test codes.
    const test = await asTest("/v1/verifications", postJson({ to }));
    expect(test.status).toBe(201);
    const { id: testId } = (await test.json()) as { id: string };
    await expectProblem(await asTest("/v1/verifications", postJson({ to })), {
      status: 429,
      slug: "rate-limited",
      instance: "/v1/verifications",
    });
    // Each mode reads only its own.
    expect((await asTest(`/v1/verifications/${liveId}`)).status).toBe(404);
    expect((await tenant.api(`/v1/verifications/${testId}`)).status).toBe(404);

    // The platform's cap on a number protects real phones from every tenant's live codes; a test
    // key's code goes only to the sandbox, and is neither refused by it nor counted in it.
    const capped = `+1415558${String(Date.now() % 10_000).padStart(4, "0")}`;
    const platform = platformNumberLimiterOf(env, capped);
    for (let i = 0; i < PLATFORM_NUMBER_PER_DAY; i++) {
      await platform.admit({ number: capped, now: Date.now() - 1000 + i });
    }
    expect((await asTest("/v1/verifications", postJson({ to: capped }))).status).toBe(201);
    const refused = await tenant.api("/v1/verifications", postJson({ to: capped }));
    const problem = await expectProblem(refused, {
      status: 429,
      slug: "rate-limited",
      instance: "/v1/verifications",
    });
    expect(problem).toMatchObject({ limit: "platform_number" });

    await flushVerifications(tenant.id);
    const today = new Date().toISOString().slice(0, 10);
    const statsOf = async (res: Response) =>
      ((await res.json()) as { data: { started: number; refusals: object }[] }).data[0];
    const path = `/v1/verifications/stats?from=${today}&to=${today}`;
    expect(await statsOf(await asTest(path))).toMatchObject({
      started: 2,
      refusals: { number_minute: 1 },
    });
    expect(await statsOf(await tenant.api(path))).toMatchObject({
      started: 1,
      refusals: { platform_number: 1 },
    });
  });

  it("needs verifications:write", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["messages:send"]);
    const res = await call("/v1/verifications", key, postJson({ to: "+14155550191" }));
    await expectProblem(res, { status: 403, slug: "forbidden", instance: "/v1/verifications" });
  });
});
