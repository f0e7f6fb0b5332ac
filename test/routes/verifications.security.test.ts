import { describe, expect, it } from "vitest";
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

  it("needs verifications:write", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["messages:send"]);
    const res = await call("/v1/verifications", key, postJson({ to: "+14155550191" }));
    await expectProblem(res, { status: 403, slug: "forbidden", instance: "/v1/verifications" });
  });
});
