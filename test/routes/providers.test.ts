import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";

const TWILIO = {
  config: { account_sid: `AC${"a1".repeat(16)}`, from: "+14155550100" },
  credentials: { auth_token: "twilio-auth-token-0123456789" },
};

const put = (body: unknown) => ({ method: "PUT", body: JSON.stringify(body) });

describe("provider settings", () => {
  it("stores credentials encrypted, never shows them, and gives the callback URLs", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/providers/twilio", put(TWILIO));
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toContain("twilio-auth-token");
    const view = JSON.parse(text) as Record<string, unknown> & {
      callback_urls: Record<string, string>;
    };
    expect(view).toMatchObject({
      provider: "twilio",
      enabled: true,
      config: TWILIO.config,
      has_credentials: true,
    });
    const whole = (await (await tenant.api("/v1/providers")).json()) as Record<string, unknown>;
    // A short list comes whole, in the list shape every list has.
    expect(whole.next_cursor).toBeNull();
    expect(view.callback_urls.status).toMatch(
      /^http:\/\/127\.0\.0\.1:8787\/hooks\/sms\/twilio\/[A-Za-z0-9]{32}\/status$/,
    );
    // Only URLs that answer are given out: every one of them reaches a route.
    for (const url of Object.values(view.callback_urls)) {
      const res = await call(new URL(url).pathname, null, { method: "POST", body: "" });
      expect(res.status, url).not.toBe(404);
    }
    const row = await env.DB.prepare(
      "SELECT secret_ciphertext FROM provider_settings WHERE tenant_id = ? AND provider = 'twilio'",
    )
      .bind(tenant.id)
      .first<{ secret_ciphertext: string }>();
    expect(row?.secret_ciphertext).toMatch(/^v1\./);
    expect(row?.secret_ciphertext).not.toContain("twilio-auth-token");

    const list = await (await tenant.api("/v1/providers")).text();
    expect(list).not.toContain("twilio-auth-token");
    expect(JSON.parse(list).data.map((p: { provider: string }) => p.provider)).toEqual([
      "sandbox",
      "twilio",
    ]);
  });

  it("keeps the stored credentials when an update leaves them out, and rotates the hook token", async () => {
    const tenant = await createTenant();
    await tenant.api("/v1/providers/twilio", put(TWILIO));
    const updated = await tenant.api(
      "/v1/providers/twilio",
      put({ config: { ...TWILIO.config, timeout_ms: 5000 }, enabled: false }),
    );
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ enabled: false, has_credentials: true });
    const before = (await (await tenant.api("/v1/providers/twilio")).json()) as {
      callback_urls: { status: string };
    };
    const rotated = await tenant.api("/v1/providers/twilio/rotate-hook-token", { method: "POST" });
    const after = (await rotated.json()) as { callback_urls: { status: string } };
    expect(after.callback_urls.status).not.toBe(before.callback_urls.status);
  });

  it("refuses settings that do not fit the provider, pointing at each field", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api(
        "/v1/providers/twilio",
        put({ config: { account_sid: "nope", colour: "red" }, credentials: {} }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/providers/twilio",
        pointers: ["/config/account_sid", "/config/colour"],
      },
    );
    await expectProblem(await tenant.api("/v1/providers/twilio", put({ config: TWILIO.config })), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/providers/twilio",
      pointers: ["/credentials"],
    });
    await expectProblem(await tenant.api("/v1/providers/nexmo", put(TWILIO)), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/providers/nexmo",
    });
  });

  it("says what a Twilio SID looks like when one is only its prefix, as a placeholder is", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/providers/twilio",
      put({
        config: { account_sid: "AC…", messaging_service_sid: "MG123" },
        credentials: TWILIO.credentials,
      }),
    );
    const problem = await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/providers/twilio",
      pointers: ["/config/account_sid", "/config/messaging_service_sid"],
    });
    expect(problem.errors?.map((e) => e.detail)).toEqual([
      expect.stringMatching(/^must be AC followed by 32 hex digits/),
      expect.stringMatching(/^must be MG followed by 32 hex digits/),
    ]);
  });

  it("sends credentials only over https to a public host", async () => {
    const tenant = await createTenant();
    for (const base_url of [
      "http://api.twilio.example",
      "https://169.254.169.254/",
      "https://[::ffff:10.0.0.1]/",
      "https://sms.internal/",
    ]) {
      await expectProblem(
        await tenant.api(
          "/v1/providers/twilio",
          put({ ...TWILIO, config: { ...TWILIO.config, base_url } }),
        ),
        {
          status: 422,
          slug: "unprocessable-entity",
          instance: "/v1/providers/twilio",
          pointers: ["/config/base_url"],
        },
      );
    }
    const listed = (await (await tenant.api("/v1/providers")).json()) as {
      data: { provider: string }[];
    };
    expect(listed.data.map((p) => p.provider)).not.toContain("twilio");
    const proxy = put({
      ...TWILIO,
      config: { ...TWILIO.config, base_url: "https://egress.example.com/twilio" },
    });
    expect((await tenant.api("/v1/providers/twilio", proxy)).status).toBe(201);
  });

  it("needs the admin scope and keeps each tenant's providers to itself", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    await owner.api("/v1/providers/twilio", put(TWILIO));
    const { key } = await owner.addKey(["messages:send", "messages:read"]);
    await expectProblem(await call("/v1/providers", key), {
      status: 403,
      slug: "forbidden",
      instance: "/v1/providers",
    });
    await expectProblem(await other.api("/v1/providers/twilio"), {
      status: 404,
      slug: "not-found",
      instance: "/v1/providers/twilio",
    });
    expect((await other.api("/v1/providers/twilio", { method: "DELETE" })).status).toBe(404);
    expect((await owner.api("/v1/providers/twilio")).status).toBe(200);
  });
});

describe("routing rules", () => {
  it("creates, replaces, lists and deletes a rule", async () => {
    const tenant = await createTenant();
    await tenant.api("/v1/providers/twilio", put(TWILIO));
    const rule = {
      destination: "+8613",
      providers: [
        { provider: "twilio", priority: 1 },
        { provider: "sandbox", priority: 2 },
      ],
    };
    const created = await tenant.api("/v1/routes", postJson(rule));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const replaced = await tenant.api(
      "/v1/routes",
      postJson({ destination: "+8613", providers: [{ provider: "sandbox" }] }),
    );
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({
      id,
      providers: [{ provider: "sandbox", priority: 1, weight: 1 }],
    });
    const list = (await (await tenant.api("/v1/routes")).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
    expect((await tenant.api(`/v1/routes/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await tenant.api(`/v1/routes/${id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("refuses a provider the tenant has not set up, a bad destination and duplicates", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api(
        "/v1/routes",
        postJson({ destination: "CN", providers: [{ provider: "aliyun" }] }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/routes",
        pointers: ["/providers/0/provider"],
      },
    );
    await expectProblem(
      await tenant.api(
        "/v1/routes",
        postJson({ destination: "china", providers: [{ provider: "sandbox" }] }),
      ),
      { status: 400, slug: "validation-error", instance: "/v1/routes", pointers: ["/destination"] },
    );
    await expectProblem(
      await tenant.api(
        "/v1/routes",
        postJson({
          destination: "CN",
          providers: [{ provider: "sandbox" }, { provider: "sandbox" }],
        }),
      ),
      { status: 400, slug: "validation-error", instance: "/v1/routes", pointers: ["/providers"] },
    );
  });
});
