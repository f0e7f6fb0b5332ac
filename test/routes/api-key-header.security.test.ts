import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant } from "../support/tenants";

describe("the Authorization header", () => {
  it.each([
    { what: "a word after the key", header: (key: string) => `Bearer ${key} extra` },
    { what: "a second key after the key", header: (key: string) => `Bearer ${key} ${key}` },
    { what: "a tab and a word after the key", header: (key: string) => `Bearer ${key}\textra` },
    { what: "a second scheme", header: (key: string) => `Bearer Bearer ${key}` },
  ])("refuses a real key with $what, with 401 asking for a bearer key", async ({ header }) => {
    const tenant = await createTenant();
    const res = await call("/v1/messages", null, {
      headers: { authorization: header(tenant.key) },
    });
    await expectProblem(res, {
      status: 401,
      slug: "unauthenticated",
      instance: "/v1/messages",
      detail: /Authorization: Bearer/,
    });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="relaybox"');
  });

  it("takes the scheme in any case, as RFC 9110 says", async () => {
    const tenant = await createTenant();
    const res = await call("/v1/messages", null, {
      headers: { authorization: `bearer ${tenant.key}` },
    });
    expect(res.status).toBe(200);
  });
});
