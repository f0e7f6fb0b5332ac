import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callWithEnv } from "../support/flaky";
import { platform, platformTenant, TEST_PLATFORM_KEY } from "../support/platform";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";

const ROUTES: [string, string][] = [
  ["POST", "/v1/platform/tenants"],
  ["GET", "/v1/platform/tenants"],
  ["GET", "/v1/platform/tenants/tnt_01ABCDEFGHJKMNPQRSTVWXYZ01"],
  ["PATCH", "/v1/platform/tenants/tnt_01ABCDEFGHJKMNPQRSTVWXYZ01"],
  ["POST", "/v1/platform/tenants/tnt_01ABCDEFGHJKMNPQRSTVWXYZ01/suspend"],
  ["POST", "/v1/platform/tenants/tnt_01ABCDEFGHJKMNPQRSTVWXYZ01/resume"],
];

const init = (method: string): RequestInit =>
  method === "GET" ? { method } : { method, body: JSON.stringify({ name: "x" }) };

describe("the platform routes' key", () => {
  it("refuses a request without a key, with a wrong platform key, or with a tenant's key", async () => {
    const tenant = await createTenant();
    const wrong = "rbx_platform_WrongWrongWrongWrongWrongWrong0000";
    for (const [method, path] of ROUTES) {
      await expectProblem(await call(path, null, init(method)), {
        status: 401,
        slug: "unauthenticated",
        instance: path,
      });
      await expectProblem(await call(path, wrong, init(method)), {
        status: 401,
        slug: "unauthenticated",
        instance: path,
        detail: /platform key is not valid/,
      });
      await expectProblem(await call(path, tenant.key, init(method)), {
        status: 401,
        slug: "unauthenticated",
        instance: path,
        detail: /only the platform key/,
      });
    }
  });

  it("refuses even the right key when PLATFORM_KEY is not set", async () => {
    // The same call with the secret set passes: what refuses below is its absence.
    expect((await callWithEnv(env, "/v1/platform/tenants", TEST_PLATFORM_KEY)).status).toBe(200);
    for (const unset of [undefined, ""]) {
      const unsetEnv = { ...env, PLATFORM_KEY: unset } as unknown as Env;
      const res = await callWithEnv(unsetEnv, "/v1/platform/tenants", TEST_PLATFORM_KEY);
      await expectProblem(res, {
        status: 401,
        slug: "unauthenticated",
        instance: "/v1/platform/tenants",
      });
    }
  });

  it("is refused on the tenants' routes", async () => {
    for (const path of ["/v1/tenant", "/v1/keys", "/v1/messages"]) {
      await expectProblem(await platform(path), {
        status: 401,
        slug: "unauthenticated",
        instance: path,
        detail: /platform key works only on \/v1\/platform/,
      });
    }
    await expectProblem(
      await platform("/v1/messages", postJson({ to: "+12025550123", body: "hi" })),
      { status: 401, slug: "unauthenticated", instance: "/v1/messages" },
    );
  });

  it("creates nothing when refused", async () => {
    const email = `${crypto.randomUUID()}@example.com`;
    const tenant = await createTenant();
    const res = await call(
      "/v1/platform/tenants",
      tenant.key,
      postJson({ name: "Nope", home_country: "CN", owner_email: email }),
    );
    expect(res.status).toBe(401);
    const user = await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(email).first();
    expect(user).toBeNull();
  });

  it("gives a new tenant's key nothing of another tenant", async () => {
    const mine = await platformTenant();
    const other = await createTenant();
    const key = mine.api_key.key ?? "";
    const otherKey = await other.addKey(["admin"]);
    const res = await call(`/v1/keys/${otherKey.id}`, key, {
      method: "PATCH",
      body: JSON.stringify({ name: "mine now" }),
    });
    expect(res.status).toBe(404);
  });
});
