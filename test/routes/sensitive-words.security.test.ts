import { describe, expect, it } from "vitest";
import {
  expectForeignLikeMissing,
  expectNoKeyRefused,
  expectRevokedKeyRefused,
  expectScopeRefused,
  revokedKey,
} from "../support/route-checks";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

const MISSING_ID = `sw_${"0".repeat(26)}`;

async function addWord(tenant: TestTenant, word: string): Promise<string> {
  const res = await tenant.api("/v1/sensitive-words", postJson({ word, policy: "block" }));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function wordIds(tenant: TestTenant): Promise<string[]> {
  const res = await tenant.api("/v1/sensitive-words?limit=100");
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((w) => w.id);
}

async function verdictFor(tenant: TestTenant, text: string): Promise<string> {
  const res = await tenant.api("/v1/sensitive-words/check", postJson({ text }));
  expect(res.status).toBe(200);
  return ((await res.json()) as { verdict: string }).verdict;
}

/** Every route, with the scope it needs and its status when allowed (for an id that isn't there). */
function routes(id: string) {
  return [
    {
      route: "GET /v1/sensitive-words",
      scope: "content:read",
      path: "/v1/sensitive-words",
      init: {},
      allowed: 200,
    },
    {
      route: "POST /v1/sensitive-words/check",
      scope: "content:read",
      path: "/v1/sensitive-words/check",
      init: postJson({ text: "赌博" }),
      allowed: 200,
    },
    {
      route: "POST /v1/sensitive-words",
      scope: "content:write",
      path: "/v1/sensitive-words",
      init: postJson({ word: "sneaky", policy: "block" }),
      allowed: 201,
    },
    {
      route: "POST /v1/sensitive-words/import",
      scope: "content:write",
      path: "/v1/sensitive-words/import",
      init: postJson({ words: [{ word: "sneaky", policy: "block" }] }),
      allowed: 200,
    },
    {
      route: "DELETE /v1/sensitive-words/{id}",
      scope: "content:write",
      path: `/v1/sensitive-words/${id}`,
      init: { method: "DELETE" },
      allowed: 404,
    },
  ] as const;
}

describe("Sensitive-words routes without a key or the scope", () => {
  it.each(routes(MISSING_ID))("$route refuses a request without a key with 401", (route) =>
    expectNoKeyRefused(route),
  );

  it("refuse a key with only message scopes on every route with 403, changing nothing", async () => {
    const tenant = await createTenant();
    const id = await addWord(tenant, "原有的词");
    const limited = await tenant.addKey(["messages:send", "messages:read"]);
    for (const route of routes(id)) {
      await expectScopeRefused(limited.key, route, route.scope);
    }
    expect(await wordIds(tenant)).toEqual([id]);
  });

  it("let a content:read key list and check, and refuse it every change with 403", async () => {
    const tenant = await createTenant();
    const id = await addWord(tenant, "原有的词");
    const reader = await tenant.addKey(["content:read"]);
    for (const route of routes(id)) {
      if (route.scope === "content:read") {
        expect((await call(route.path, reader.key, route.init)).status).toBe(route.allowed);
      } else {
        await expectScopeRefused(reader.key, route, route.scope);
      }
    }
    expect(await wordIds(tenant)).toEqual([id]);
  });

  it("let a content:write key change words, and refuse it listing and checking with 403", async () => {
    const tenant = await createTenant();
    const writer = await tenant.addKey(["content:write"]);
    for (const route of routes(MISSING_ID)) {
      if (route.scope === "content:read") {
        await expectScopeRefused(writer.key, route, route.scope);
      } else {
        expect((await call(route.path, writer.key, route.init)).status).toBe(route.allowed);
      }
    }
  });

  it("refuse a revoked key on every route with 401", async () => {
    const tenant = await createTenant();
    const id = await addWord(tenant, "原有的词");
    const revoked = await revokedKey(tenant, ["content:read", "content:write"]);
    for (const route of routes(id)) {
      await expectRevokedKeyRefused(revoked.key, route);
    }
    expect(await wordIds(tenant)).toEqual([id]);
  });
});

describe("Sensitive words across tenants", () => {
  it("answers deleting another tenant's word with a 404 identical to a missing one, and the word stays", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const id = await addWord(owner, "独家秘方");

    await expectForeignLikeMissing(
      stranger,
      { path: (someId) => `/v1/sensitive-words/${someId}`, init: { method: "DELETE" } },
      { foreign: id, missing: MISSING_ID },
    );
    expect(await wordIds(owner)).toEqual([id]);
    expect(await verdictFor(owner, "独家秘方")).toBe("block");
  });

  it("never lists another tenant's words, even from their cursor", async () => {
    const owner = await createTenant();
    const first = await addWord(owner, "甲词");
    const second = await addWord(owner, "乙词");
    const stranger = await createTenant();
    const own = await addWord(stranger, "丙词");

    for (const cursor of [first, second, `sw_${"Z".repeat(26)}`]) {
      const res = await stranger.api(`/v1/sensitive-words?cursor=${cursor}`);
      const ids = ((await res.json()) as { data: { id: string }[] }).data.map((w) => w.id);
      expect(ids).not.toContain(first);
      expect(ids).not.toContain(second);
    }
    expect(await wordIds(stranger)).toEqual([own]);
  });

  it("never screens a tenant's texts with another tenant's words", async () => {
    const owner = await createTenant();
    await addWord(owner, "独家秘方");
    const stranger = await createTenant();
    expect(await verdictFor(owner, "我们的独家秘方")).toBe("block");
    expect(await verdictFor(stranger, "我们的独家秘方")).toBe("allow");
  });

  it("does not let one tenant's import change another tenant's word", async () => {
    const owner = await createTenant();
    await addWord(owner, "团购");
    const stranger = await createTenant();
    const res = await stranger.api(
      "/v1/sensitive-words/import",
      postJson({ words: [{ word: "团购", policy: "mask" }] }),
    );
    expect(await res.json()).toMatchObject({ imported: 1, updated: 0 });
    const page = (await (await owner.api("/v1/sensitive-words")).json()) as {
      data: { word: string; policy: string }[];
    };
    expect(page.data).toMatchObject([{ word: "团购", policy: "block" }]);
  });
});
