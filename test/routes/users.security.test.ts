import { describe, expect, it } from "vitest";
import { addUser } from "../support/dashboard";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";
import { invite } from "../support/users";

describe("/v1/users security", () => {
  it("needs a key, users:read to read and users:write to change", async () => {
    const tenant = await createTenant();
    const target = await invite(tenant, "analyst");
    await expectProblem(await call("/v1/users", null), {
      status: 401,
      slug: "unauthenticated",
      instance: "/v1/users",
    });
    const none = await tenant.addKey(["messages:read"]);
    await expectProblem(await call("/v1/users", none.key), {
      status: 403,
      slug: "forbidden",
      instance: "/v1/users",
    });
    const reader = await tenant.addKey(["users:read"]);
    expect((await call("/v1/users", reader.key)).status).toBe(200);
    const changes: [string, RequestInit][] = [
      ["/v1/users", postJson({ email: "r@example.com", role: "inspector" })],
      [`/v1/users/${target.user.id}`, { method: "PATCH", body: JSON.stringify({ role: "agent" }) }],
      [`/v1/users/${target.user.id}/disable`, { method: "POST" }],
      [`/v1/users/${target.user.id}`, { method: "DELETE" }],
    ];
    for (const [path, init] of changes) {
      await expectProblem(await call(path, reader.key, init), {
        status: 403,
        slug: "forbidden",
        instance: path,
      });
    }
  });

  it("refuses to grant more than the key holds", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["users:read", "users:write"]);
    const res = await call("/v1/users", key, postJson({ email: "a@example.com", role: "analyst" }));
    await expectProblem(res, { status: 403, slug: "forbidden", instance: "/v1/users" });
    const target = await invite(tenant, "analyst");
    const patch = await call(`/v1/users/${target.user.id}`, key, {
      method: "PATCH",
      body: JSON.stringify({ role: "inspector" }),
    });
    // Holding less than the analyst does, it cannot change them either.
    await expectProblem(patch, {
      status: 403,
      slug: "forbidden",
      instance: `/v1/users/${target.user.id}`,
    });
  });

  it("lets no API key make or unmake an owner, even an admin one", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/users", postJson({ email: "o@example.com", role: "owner" }));
    await expectProblem(res, { status: 403, slug: "forbidden", instance: "/v1/users" });
    const owner = await addUser(tenant, "owner");
    for (const [path, init] of [
      [`/v1/users/${owner.id}`, { method: "PATCH", body: JSON.stringify({ role: "analyst" }) }],
      [`/v1/users/${owner.id}/disable`, { method: "POST" }],
      [`/v1/users/${owner.id}`, { method: "DELETE" }],
    ] as const) {
      await expectProblem(await tenant.api(path, init), {
        status: 403,
        slug: "forbidden",
        instance: path,
      });
    }
  });

  it("answers another tenant's user with a 404 like a missing one", async () => {
    const mine = await createTenant();
    const theirs = await createTenant();
    const target = await invite(theirs, "analyst");
    const id = target.user.id;
    const missing = "usr_00000000000000000000000000";
    for (const user of [id, missing]) {
      for (const [path, init] of [
        [`/v1/users/${user}`, {}],
        [`/v1/users/${user}`, { method: "PATCH", body: JSON.stringify({ role: "agent" }) }],
        [`/v1/users/${user}/disable`, { method: "POST" }],
        [`/v1/users/${user}/enable`, { method: "POST" }],
        [`/v1/users/${user}`, { method: "DELETE" }],
      ] as const) {
        const res = await mine.api(path, init);
        const problem = await expectProblem(res, {
          status: 404,
          slug: "not-found",
          instance: path,
        });
        expect(problem.detail).toBe(`No user ${user}.`);
      }
    }
    const list = (await (await mine.api("/v1/users")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });
});
