import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_ENDPOINTS_PER_TENANT } from "../../src/services/webhooks/endpoints";
import { expectProblem } from "../support/problem";
import { expectMalformedJsonRefused } from "../support/route-checks";
import { createTenant, postJson, type TestTenant } from "../support/tenants";
import { createEndpoint } from "../support/webhooks";

async function endpointCount(tenant: TestTenant): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM webhook_endpoints WHERE tenant_id = ?",
  )
    .bind(tenant.id)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

const VALID = { url: "https://hooks.example.com/relaybox", events: ["message.sent"] };

describe("POST /v1/webhooks (errors)", () => {
  it.each([
    { what: "no url", body: { events: ["message.sent"] }, pointers: ["/url"] },
    {
      what: "a url that is not a URL",
      body: { ...VALID, url: "hooks.example.com" },
      pointers: ["/url"],
    },
    { what: "a url that is not a string", body: { ...VALID, url: 42 }, pointers: ["/url"] },
    {
      what: "a url over 2048 characters",
      body: { ...VALID, url: `https://example.com/${"a".repeat(2040)}` },
      pointers: ["/url"],
    },
    { what: "no events", body: { url: VALID.url }, pointers: ["/events"] },
    { what: "an empty event list", body: { ...VALID, events: [] }, pointers: ["/events"] },
    {
      what: "an unknown event name",
      body: { ...VALID, events: ["message.sent", "message.read"] },
      pointers: ["/events/1"],
    },
    { what: "a wildcard event", body: { ...VALID, events: ["*"] }, pointers: ["/events/0"] },
    {
      what: "a description over 500 characters",
      body: { ...VALID, description: "d".repeat(501) },
      pointers: ["/description"],
    },
    { what: "an unknown field", body: { ...VALID, secret: "whsec_mine" }, pointers: ["/secret"] },
  ])("answers 400 for $what, naming the field", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/webhooks", postJson(body));
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/webhooks",
      pointers,
    });
    expect(await endpointCount(tenant)).toBe(0);
  });

  it.each([
    ["http://hooks.example.com/", ["must use https"]],
    ["https://localhost:8443/hooks", ["localhost is a local name (localhost)"]],
    ["https://2130706433/", ["127.0.0.1 is a loopback address (127.0.0.0/8)"]],
    [
      "https://169.254.169.254/latest/meta-data/",
      ["169.254.169.254 is a cloud metadata address (169.254.169.254)"],
    ],
    [
      "https://[::ffff:10.0.0.1]/",
      ["[::ffff:a00:1] is the IPv4-mapped form of 10.0.0.1 is a private address (10.0.0.0/8)"],
    ],
    [
      "https://metadata.google.internal/",
      ["metadata.google.internal is a local name (*.internal)"],
    ],
    [
      "http://admin:pw@192.168.0.1/",
      [
        "must use https",
        "must not contain a user name or password",
        "192.168.0.1 is a private address (192.168.0.0/16)",
      ],
    ],
  ])("answers 422 for %s, naming each reason at /url", async (url, reasons) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/webhooks", postJson({ ...VALID, url }));
    const problem = await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/webhooks",
      pointers: reasons.map(() => "/url"),
    });
    expect(problem.errors?.map((e) => e.detail)).toEqual(reasons);
    expect(await endpointCount(tenant)).toBe(0);
  });

  it("answers 415 for a body that is not JSON", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/webhooks", {
      method: "POST",
      body: "url=https://example.com",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await expectProblem(res, {
      status: 415,
      slug: "unsupported-media-type",
      instance: "/v1/webhooks",
    });
  });

  it("answers 400 for malformed JSON", async () => {
    const tenant = await createTenant();
    await expectMalformedJsonRefused(tenant, "/v1/webhooks", "{");
  });

  it("answers 422 for an Idempotency-Key reused with another body", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "hook-key" };
    expect((await tenant.api("/v1/webhooks", postJson(VALID, headers))).status).toBe(201);
    const res = await tenant.api(
      "/v1/webhooks",
      postJson({ ...VALID, url: "https://hooks.example.com/other" }, headers),
    );
    await expectProblem(res, {
      status: 422,
      slug: "idempotency-key-reused",
      instance: "/v1/webhooks",
      pointers: ["/headers/idempotency-key"],
    });
    expect(await endpointCount(tenant)).toBe(1);
  });

  it(`answers 422 past ${MAX_ENDPOINTS_PER_TENANT} endpoints`, async () => {
    const tenant = await createTenant();
    for (let i = 0; i < MAX_ENDPOINTS_PER_TENANT; i++) {
      await createEndpoint(tenant, { url: `https://hooks.example.com/${i}` });
    }
    const res = await tenant.api("/v1/webhooks", postJson(VALID));
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/webhooks",
      detail: /at most 20 webhook endpoints/,
    });
    expect(await endpointCount(tenant)).toBe(MAX_ENDPOINTS_PER_TENANT);
  });
});

describe("other webhook routes (errors)", () => {
  const missing = `whk_${"0".repeat(26)}`;
  const missingDelivery = `whd_${"0".repeat(26)}`;

  it.each([
    { route: "GET /v1/webhooks/{id}", path: `/v1/webhooks/${missing}`, init: {} },
    {
      route: "DELETE /v1/webhooks/{id}",
      path: `/v1/webhooks/${missing}`,
      init: { method: "DELETE" },
    },
    {
      route: "POST /v1/webhooks/{id}/rotate-secret",
      path: `/v1/webhooks/${missing}/rotate-secret`,
      init: { method: "POST" },
    },
    {
      route: "GET /v1/webhooks/{id}/deliveries",
      path: `/v1/webhooks/${missing}/deliveries`,
      init: {},
    },
    {
      route: "POST …/replay",
      path: `/v1/webhooks/${missing}/deliveries/${missingDelivery}/replay`,
      init: { method: "POST" },
    },
  ])("$route answers 404 for an endpoint that does not exist", async ({ path, init }) => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api(path, init), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
  });

  it("answers 404 for replaying a delivery that does not exist on an endpoint that does", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant);
    const path = `/v1/webhooks/${endpoint.id}/deliveries/${missingDelivery}/replay`;
    await expectProblem(await tenant.api(path, { method: "POST" }), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
  });

  it.each([
    { what: "a malformed endpoint id", path: "/v1/webhooks/key_123", pointers: ["/path/id"] },
    { what: "a malformed cursor", path: "/v1/webhooks?cursor=nope", pointers: ["/query/cursor"] },
    { what: "a limit over 100", path: "/v1/webhooks?limit=101", pointers: ["/query/limit"] },
    {
      what: "an unknown delivery status",
      path: `/v1/webhooks/${missing}/deliveries?status=lost`,
      pointers: ["/query/status"],
    },
  ])("answers 400 for $what", async ({ path, pointers }) => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api(path), {
      status: 400,
      slug: "validation-error",
      instance: path.split("?")[0] ?? path,
      pointers,
    });
  });
});
