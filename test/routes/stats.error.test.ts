import { describe, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant } from "../support/tenants";

describe("GET /v1/stats errors", () => {
  const cases: [string, string[]][] = [
    ["group_by=day,carrier", ["/query/group_by"]],
    ["group_by=day,hour", ["/query/group_by"]],
    ["group_by=country,country", ["/query/group_by"]],
    ["tz=Mars/Olympus", ["/query/tz"]],
    ["from=2026-03-09&to=2026-03-08", ["/query/from"]],
    ["from=2026-02-30", ["/query/from"]],
    ["from=2026-03-06T10:07:00Z&to=2026-03-07", ["/query/from"]],
    ["from=yesterday", ["/query/from"]],
    ["from=2025-01-01&to=2026-03-01", ["/query/to"]],
    ["group_by=hour&from=2026-01-01&to=2026-03-01", ["/query/to"]],
    ["country=CHN", ["/query/country"]],
    ["channel=fax", ["/query/channel"]],
  ];
  for (const [query, pointers] of cases) {
    it(`answers 400 with pointers for ${query}`, async () => {
      const tenant = await createTenant();
      await expectProblem(await tenant.api(`/v1/stats?${query}`), {
        status: 400,
        slug: "validation-error",
        instance: "/v1/stats",
        pointers,
      });
    });
  }

  it("refuses a bad limit and a bad format on errors and export", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/stats/errors?limit=0"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/stats/errors",
      pointers: ["/query/limit"],
    });
    await expectProblem(await tenant.api("/v1/stats/export?format=xlsx"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/stats/export",
      pointers: ["/query/format"],
    });
  });
});
