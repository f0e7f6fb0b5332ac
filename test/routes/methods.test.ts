import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant } from "../support/tenants";

describe("a method a path does not take", () => {
  it("is a 405 that says which methods the path takes, in an Allow header too", async () => {
    const tenant = await createTenant();
    const problem = await expectProblem(await tenant.api("/v1/messages", { method: "PUT" }), {
      status: 405,
      slug: "method-not-allowed",
      instance: "/v1/messages",
    });
    expect(problem.detail).toMatch(/GET, HEAD, POST/);
    const res = await tenant.api(`/v1/messages/msg_${"0".repeat(26)}`, { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("leaves a path no route has a 404", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/nothing-here", { method: "PUT" }), {
      status: 404,
      slug: "not-found",
      instance: "/v1/nothing-here",
    });
  });
});
