import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";

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

  it("needs verifications:write", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["messages:send"]);
    const res = await call("/v1/verifications", key, postJson({ to: "+14155550191" }));
    await expectProblem(res, { status: 403, slug: "forbidden", instance: "/v1/verifications" });
  });
});
