import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Permission } from "../../src/domain/permissions";
import { ApiError } from "../../src/lib/problem";
import { servingTemplate } from "../../src/services/content/serving-templates";
import {
  expectForeignLikeMissing,
  expectNoKeyRefused,
  expectRevokedKeyRefused,
  expectScopeRefused,
  revokedKey,
} from "../support/route-checks";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

const OTP = {
  name: "Login code",
  kind: "verification",
  body: "Your code is {{code}}.",
  variables: [{ name: "code", type: "code", max_length: 8 }],
};
const MISSING_ID = `tpl_${"0".repeat(26)}`;

async function create(tenant: TestTenant): Promise<string> {
  const res = await tenant.api("/v1/templates", postJson(OTP));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function submitted(tenant: TestTenant): Promise<string> {
  const id = await create(tenant);
  expect((await tenant.api(`/v1/templates/${id}/submit`, { method: "POST" })).status).toBe(200);
  return id;
}

async function shown(tenant: TestTenant, id: string): Promise<unknown> {
  const res = await tenant.api(`/v1/templates/${id}`);
  expect(res.status).toBe(200);
  return res.json();
}

/** Every templates route, with the scope it needs, for the template `id`. */
function routes(id: string) {
  return [
    {
      route: "POST /v1/templates",
      scope: "templates:write",
      path: "/v1/templates",
      init: postJson(OTP),
    },
    { route: "GET /v1/templates", scope: "templates:read", path: "/v1/templates", init: {} },
    {
      route: "GET /v1/templates/{id}",
      scope: "templates:read",
      path: `/v1/templates/${id}`,
      init: {},
    },
    {
      route: "PATCH /v1/templates/{id}",
      scope: "templates:write",
      path: `/v1/templates/${id}`,
      init: { method: "PATCH", body: JSON.stringify({ name: "mine now" }) },
    },
    {
      route: "DELETE /v1/templates/{id}",
      scope: "templates:write",
      path: `/v1/templates/${id}`,
      init: { method: "DELETE" },
    },
    {
      route: "POST /v1/templates/{id}/submit",
      scope: "templates:write",
      path: `/v1/templates/${id}/submit`,
      init: { method: "POST" },
    },
    {
      route: "POST /v1/templates/{id}/approve",
      scope: "templates:review",
      path: `/v1/templates/${id}/approve`,
      init: { method: "POST" },
    },
    {
      route: "POST /v1/templates/{id}/reject",
      scope: "templates:review",
      path: `/v1/templates/${id}/reject`,
      init: postJson({ reason: "no" }),
    },
  ] as const;
}

describe("Templates routes without a key", () => {
  it.each(routes(MISSING_ID))("$route refuses a request without a key with 401", (route) =>
    expectNoKeyRefused(route),
  );

  it("refuses a revoked key with 401", async () => {
    const tenant = await createTenant();
    const revoked = await revokedKey(tenant, ["templates:write"]);
    await expectRevokedKeyRefused(revoked.key, { path: "/v1/templates", init: postJson(OTP) });
    expect((await (await tenant.api("/v1/templates")).json()) as unknown).toEqual({
      data: [],
      next_cursor: null,
    });
  });
});

describe("Templates routes without the needed scope", () => {
  const holders: { held: Permission[]; lacks: Permission[] }[] = [
    {
      held: ["messages:send", "messages:read"],
      lacks: ["templates:read", "templates:write", "templates:review"],
    },
    { held: ["templates:read"], lacks: ["templates:write", "templates:review"] },
    { held: ["templates:read", "templates:write"], lacks: ["templates:review"] },
    { held: ["templates:review"], lacks: ["templates:read", "templates:write"] },
  ];

  it.each(holders)(
    "refuse a key with $held on every route needing one of $lacks with 403, changing nothing",
    async ({ held, lacks }) => {
      const tenant = await createTenant();
      const limited = await tenant.addKey(held);
      const id = await submitted(tenant);
      const before = await shown(tenant, id);

      for (const { path, init, scope } of routes(id)) {
        if (!lacks.includes(scope)) {
          continue;
        }
        await expectScopeRefused(limited.key, { path, init }, scope);
      }
      expect(await shown(tenant, id)).toEqual(before);
      const page = (await (await tenant.api("/v1/templates")).json()) as { data: { id: string }[] };
      expect(page.data.map((t) => t.id)).toEqual([id]);
    },
  );

  it("lets a key with templates:review approve, which templates:write alone cannot", async () => {
    const tenant = await createTenant();
    const writer = await tenant.addKey(["templates:write"]);
    const reviewer = await tenant.addKey(["templates:review"]);
    const id = await submitted(tenant);
    await expectScopeRefused(
      writer.key,
      { path: `/v1/templates/${id}/approve`, init: { method: "POST" } },
      "templates:review",
    );
    const res = await call(`/v1/templates/${id}/approve`, reviewer.key, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "approved", approved_version: 1 });
  });
});

describe("Templates across tenants", () => {
  it.each(routes(MISSING_ID).filter(({ path }) => path !== "/v1/templates"))(
    "$route answers another tenant's template with a 404 identical to a missing one, changing nothing",
    async ({ path, init }) => {
      const owner = await createTenant();
      const stranger = await createTenant();
      const id = await submitted(owner);
      const before = await shown(owner, id);

      await expectForeignLikeMissing(
        stranger,
        { path: (someId) => path.replace(MISSING_ID, someId), init },
        { foreign: id, missing: MISSING_ID },
      );
      expect(await shown(owner, id)).toEqual(before);
    },
  );

  it("never lists another tenant's templates, even from their cursor", async () => {
    const owner = await createTenant();
    const first = await create(owner);
    const second = await create(owner);
    const stranger = await createTenant();
    const mine = await create(stranger);
    for (const query of [
      "",
      `?cursor=${second}`,
      `?cursor=tpl_${"Z".repeat(26)}`,
      "?status=pending_review",
    ]) {
      const page = (await (await stranger.api(`/v1/templates${query}`)).json()) as {
        data: { id: string }[];
      };
      const ids = page.data.map((t) => t.id);
      expect(ids).not.toContain(first);
      expect(ids).not.toContain(second);
      if (query === "") {
        expect(ids).toEqual([mine]);
      }
    }
  });

  it("does not serve another tenant's approved template: the 422 is the one for an unknown id", async () => {
    const owner = await createTenant();
    const id = await submitted(owner);
    expect((await owner.api(`/v1/templates/${id}/approve`, { method: "POST" })).status).toBe(200);
    expect((await servingTemplate(env, owner.id, id)).version).toBe(1);

    const stranger = await createTenant();
    const foreign = await servingTemplate(env, stranger.id, id).catch((e: unknown) => e);
    const missing = await servingTemplate(env, stranger.id, MISSING_ID).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(ApiError);
    expect(missing).toBeInstanceOf(ApiError);
    const [a, b] = [foreign as ApiError, missing as ApiError];
    expect(a.status).toBe(422);
    expect(a.message.replace(id, "<id>")).toBe(b.message.replace(MISSING_ID, "<id>"));
    expect(a.errors).toEqual(b.errors);
  });
});
