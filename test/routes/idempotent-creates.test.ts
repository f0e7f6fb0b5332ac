import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callWithEnv, flakyD1, storesIdempotentAnswer } from "../support/flaky";
import { expectProblem } from "../support/problem";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

const APP = {
  app_secret: "0123456789abcdef0123456789abcdef",
  token: "QDG6eK",
  encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
  mode: "safe",
};

const newAppId = () => `wx${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;

/**
 * The same key and body twice: one creation, the first response again (marked replayed); the
 * same key with another body: a 422, and nothing created.
 */
async function expectOnce(
  tenant: TestTenant,
  path: string,
  body: unknown,
  otherBody: unknown,
  count: () => Promise<number>,
) {
  const key = { "idempotency-key": `k-${crypto.randomUUID()}` };
  const first = await tenant.api(path, postJson(body, key));
  expect(first.status).toBe(201);
  const before = await count();
  const again = await tenant.api(path, postJson(body, key));
  expect(again.status).toBe(201);
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  expect(await again.json()).toEqual(await first.json());
  await expectProblem(await tenant.api(path, postJson(otherBody, key)), {
    status: 422,
    slug: "idempotency-key-reused",
    instance: path,
  });
  expect(await count()).toBe(before);
}

describe("Idempotency-Key on every creating POST", () => {
  it("holds for routing rules", async () => {
    const tenant = await createTenant();
    await expectOnce(
      tenant,
      "/v1/routes",
      { destination: "GB", providers: [{ provider: "sandbox" }] },
      { destination: "+8613", providers: [{ provider: "sandbox" }] },
      async () =>
        ((await (await tenant.api("/v1/routes")).json()) as { data: unknown[] }).data.length,
    );
  });

  it("holds for WeChat apps", async () => {
    const tenant = await createTenant();
    const appId = newAppId();
    await expectOnce(
      tenant,
      "/v1/wechat/apps",
      { ...APP, app_id: appId },
      { ...APP, app_id: newAppId() },
      async () =>
        ((await (await tenant.api("/v1/wechat/apps")).json()) as { data: unknown[] }).data.length,
    );
  });

  it("holds for auto-reply rules", async () => {
    const tenant = await createTenant();
    const appId = newAppId();
    await tenant.api("/v1/wechat/apps", postJson({ ...APP, app_id: appId }));
    const path = `/v1/wechat/apps/${appId}/auto-replies`;
    await expectOnce(
      tenant,
      path,
      { match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } },
      { match: "exact", keyword: "price", reply: { type: "text", content: "Free" } },
      async () => ((await (await tenant.api(path)).json()) as { data: unknown[] }).data.length,
    );
  });

  it("holds for a webhook endpoint whose answer could not be stored: one endpoint, its secret shown once", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "hook-store-fails" };
    const body = { url: "https://example.com/hooks/relaybox", events: ["message.delivered"] };
    const flaky = flakyD1(env.DB, storesIdempotentAnswer);

    const first = await callWithEnv(
      { ...env, DB: flaky.db },
      "/v1/webhooks",
      tenant.key,
      postJson(body, headers),
    );
    expect(flaky.failures()).toBe(1);
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string; secret: string | null };
    expect(created.secret).toEqual(expect.any(String));

    await expectProblem(await tenant.api("/v1/webhooks", postJson(body, headers)), {
      status: 409,
      slug: "conflict",
      instance: "/v1/webhooks",
      detail: /in progress/,
      pointers: ["/headers/idempotency-key"],
    });
    const list = (await (await tenant.api("/v1/webhooks")).json()) as { data: { id: string }[] };
    expect(list.data.map((endpoint) => endpoint.id)).toEqual([created.id]);
  });
});
