import { describe, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant } from "../support/tenants";

describe("the audit log's API refuses bad filters", () => {
  it("400 for a time that is not ISO 8601, a bad cursor or limit", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/audit?since=yesterday&until=1700000000&limit=0"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/audit",
      pointers: ["/query/since", "/query/until", "/query/limit"],
    });
    await expectProblem(await tenant.api("/v1/audit?cursor=key_1"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/audit",
      pointers: ["/query/cursor"],
    });
  });

  it("422 for a since after the until", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api("/v1/audit?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/audit",
        pointers: ["/query/since"],
      },
    );
  });
});
