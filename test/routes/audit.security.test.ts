import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";

describe("the audit log's API security", () => {
  it("401 without a key, 403 without audit:read", async () => {
    const tenant = await createTenant();
    for (const path of ["/v1/audit", "/v1/audit/verify"]) {
      await expectProblem(await call(path, null), {
        status: 401,
        slug: "unauthenticated",
        instance: path,
      });
      const sender = await tenant.addKey(["messages:send", "templates:write"]);
      await expectProblem(await call(path, sender.key), {
        status: 403,
        slug: "forbidden",
        instance: path,
      });
    }
    const reader = await tenant.addKey(["audit:read"]);
    expect((await call("/v1/audit", reader.key)).status).toBe(200);
  });

  it("never shows one tenant's entries to another, nor counts them in its chain", async () => {
    const mine = await createTenant();
    const other = await createTenant();
    const res = await mine.api("/v1/keys", postJson({ name: "ci", scopes: ["messages:send"] }));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const theirs = (await (await other.api("/v1/audit")).json()) as { data: unknown[] };
    expect(theirs.data).toEqual([]);
    const byTarget = (await (await other.api(`/v1/audit?target=${id}`)).json()) as {
      data: unknown[];
    };
    expect(byTarget.data).toEqual([]);
    expect(await (await other.api("/v1/audit/verify")).json()).toEqual({
      valid: true,
      entries: 0,
    });
  });
});
