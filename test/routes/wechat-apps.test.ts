import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";

const APP = {
  app_id: "wx5823bf96d3bd56c7",
  app_secret: "0123456789abcdef0123456789abcdef",
  token: "QDG6eK",
  encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
  mode: "safe",
};

describe("WeChat app settings", () => {
  it("stores the secrets encrypted, never shows them, and gives the webhook URL", async () => {
    const tenant = await createTenant();
    const appId = `wx${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const res = await tenant.api("/v1/wechat/apps", postJson({ ...APP, app_id: appId }));
    expect(res.status).toBe(201);
    const text = await res.text();
    for (const secret of [APP.app_secret, APP.token, APP.encoding_aes_key]) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(text)).toMatchObject({
      app_id: appId,
      mode: "safe",
      token_endpoint: "stable_token",
      webhook_url: `http://127.0.0.1:8787/wechat/${appId}`,
    });
    const row = await env.DB.prepare("SELECT secret_ciphertext FROM wechat_apps WHERE app_id = ?")
      .bind(appId)
      .first<{ secret_ciphertext: string }>();
    expect(row?.secret_ciphertext).toMatch(/^v1\./);
    expect(row?.secret_ciphertext).not.toContain(APP.app_secret);
    const again = await tenant.api(
      "/v1/wechat/apps",
      postJson({ ...APP, app_id: appId, mode: "plaintext" }),
    );
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ mode: "plaintext" });
  });

  it("keeps the account type and WeChat's verification as settings: service, unverified by default", async () => {
    const tenant = await createTenant();
    const appId = `wx${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const created = await tenant.api("/v1/wechat/apps", postJson({ ...APP, app_id: appId }));
    expect(await created.json()).toMatchObject({ account_type: "service", verified: false });
    const changed = await tenant.api(
      "/v1/wechat/apps",
      postJson({ ...APP, app_id: appId, account_type: "subscription", verified: true }),
    );
    expect(changed.status).toBe(200);
    const read = await tenant.api(`/v1/wechat/apps/${appId}`);
    expect(await read.json()).toMatchObject({ account_type: "subscription", verified: true });
    await expectProblem(
      await tenant.api(
        "/v1/wechat/apps",
        postJson({ ...APP, app_id: appId, account_type: "enterprise", verified: "yes" }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/wechat/apps",
        pointers: ["/account_type", "/verified"],
      },
    );
    const unchanged = await tenant.api(`/v1/wechat/apps/${appId}`);
    expect(await unchanged.json()).toMatchObject({ account_type: "subscription", verified: true });
  });

  it("refuses bad settings, another account's app id, and keeps apps to their tenant", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const appId = `wx${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    await expectProblem(
      await owner.api(
        "/v1/wechat/apps",
        postJson({ ...APP, app_id: "nope", encoding_aes_key: "short" }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/wechat/apps",
        pointers: ["/app_id", "/encoding_aes_key"],
      },
    );
    await expectProblem(
      await owner.api(
        "/v1/wechat/apps",
        postJson({ ...APP, app_id: appId, api_base_url: "http://10.0.0.8:8080" }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/wechat/apps",
        pointers: ["/api_base_url", "/api_base_url"], // not https, and a private address
      },
    );
    await owner.api("/v1/wechat/apps", postJson({ ...APP, app_id: appId }));
    await expectProblem(await other.api("/v1/wechat/apps", postJson({ ...APP, app_id: appId })), {
      status: 409,
      slug: "conflict",
      instance: "/v1/wechat/apps",
    });
    await expectProblem(await other.api(`/v1/wechat/apps/${appId}`), {
      status: 404,
      slug: "not-found",
      instance: `/v1/wechat/apps/${appId}`,
    });
    const { key } = await owner.addKey(["messages:send"]);
    await expectProblem(await call("/v1/wechat/apps", key), {
      status: 403,
      slug: "forbidden",
      instance: "/v1/wechat/apps",
    });
  });

  it("settles concurrent set-ups of one new app id without an error: one owner, the rest 200 or 409", async () => {
    const first = await createTenant();
    const second = await createTenant();
    const appId = `wx${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const statuses = await Promise.all(
      [first, first, second, second].map(async (tenant) => {
        const res = await tenant.api("/v1/wechat/apps", postJson({ ...APP, app_id: appId }));
        return { tenant: tenant.id, status: res.status };
      }),
    );
    expect(statuses.every(({ status }) => [200, 201, 409].includes(status))).toBe(true);
    expect(statuses.filter(({ status }) => status === 201)).toHaveLength(1);
    const owner = statuses.find(({ status }) => status === 201)?.tenant;
    for (const { tenant, status } of statuses) {
      expect(status === 409).toBe(tenant !== owner);
    }
  });

  it("adds, lists in order and deletes auto-reply rules", async () => {
    const tenant = await createTenant();
    const appId = `wx${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    await tenant.api("/v1/wechat/apps", postJson({ ...APP, app_id: appId }));
    const path = `/v1/wechat/apps/${appId}/auto-replies`;
    const added = await tenant.api(
      path,
      postJson({ match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } }),
    );
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    await tenant.api(
      path,
      postJson({
        match: "default",
        reply: { type: "text", content: "We'll be in touch" },
        priority: 500,
      }),
    );
    const list = (await (await tenant.api(path)).json()) as { data: { match: string }[] };
    expect(list.data.map((r) => r.match)).toEqual(["exact", "default"]);
    await expectProblem(
      await tenant.api(path, postJson({ match: "prefix", reply: { type: "text", content: "x" } })),
      {
        status: 400,
        slug: "validation-error",
        instance: path,
        pointers: ["/keyword"],
      },
    );
    expect((await tenant.api(`${path}/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await tenant.api(`${path}/${id}`, { method: "DELETE" })).status).toBe(404);
    const audit = await listAuditEntries(
      env,
      tenant.id,
      { action: "auto_reply.delete" },
      { limit: 10 },
    );
    expect(audit.data.map((e) => [e.target, JSON.parse(e.diff)])).toEqual([
      [id, expect.objectContaining({ app_id: { from: appId }, keyword: { from: "hours" } })],
    ]);
    const created = await listAuditEntries(
      env,
      tenant.id,
      { action: "auto_reply.create" },
      { limit: 10 },
    );
    expect(created.data).toHaveLength(2);
  });
});
