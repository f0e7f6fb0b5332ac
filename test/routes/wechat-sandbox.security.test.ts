/**
 * The WeChat sandbox exists only where the development setting turns it on, and a tenant drives
 * only its own sandbox apps.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, it } from "vitest";
import worker from "../../src/index";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";
import { wechatApp } from "../support/wechat";
import { FOLLOWERS, followerSays, SANDBOX_SECRET, sandboxApp } from "../support/wechat-sandbox";

/** The Worker as a deployment runs it: WECHAT_SANDBOX_ENABLED as wrangler.toml has it. */
async function deployed(path: string, body: unknown, key?: string): Promise<Response> {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) {
    headers.authorization = `Bearer ${key}`;
  }
  const res = await worker.fetch(
    new Request<unknown, IncomingRequestCfProperties>(`http://127.0.0.1:8787${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    }),
    { ...env, WECHAT_SANDBOX_ENABLED: "false" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("with the development setting off", () => {
  it("the sandbox's WeChat API is a 404 problem", async () => {
    const { appId } = await sandboxApp(await createTenant());
    const path = "/sandbox/wechat/cgi-bin/stable_token";
    const res = await deployed(path, {
      grant_type: "client_credential",
      appid: appId,
      secret: SANDBOX_SECRET,
    });
    await expectProblem(res, { status: 404, slug: "not-found", instance: path });
  });

  it("a follower's message is a 404 problem", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const path = `/v1/sandbox/wechat/${appId}/messages`;
    const res = await deployed(path, { openid: FOLLOWERS[0], text: "hi" }, tenant.key);
    await expectProblem(res, { status: 404, slug: "not-found", instance: path });
  });
});

describe("a follower's message", () => {
  it("needs an API key", async () => {
    const { appId } = await sandboxApp(await createTenant());
    const path = `/v1/sandbox/wechat/${appId}/messages`;
    const res = await call(path, null, postJson({ openid: FOLLOWERS[0], text: "hi" }));
    await expectProblem(res, { status: 401, slug: "unauthenticated", instance: path });
  });

  it("is a 404 for another tenant's sandbox app, as for one that does not exist", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const { appId } = await sandboxApp(owner);
    const res = await followerSays(other, appId, FOLLOWERS[0], "hi");
    await expectProblem(res, {
      status: 404,
      slug: "not-found",
      instance: `/v1/sandbox/wechat/${appId}/messages`,
    });
  });

  it("is a 403 for the caller's app that is not a sandbox app", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const res = await followerSays(tenant, appId, FOLLOWERS[0], "hi");
    await expectProblem(res, {
      status: 403,
      slug: "forbidden",
      instance: `/v1/sandbox/wechat/${appId}/messages`,
      detail: /not a sandbox app/,
    });
  });

  it("is a 422 from someone who does not follow the sandbox account", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const res = await followerSays(tenant, appId, "oNobodyAtAll", "hi");
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/sandbox/wechat/${appId}/messages`,
      pointers: ["/openid"],
    });
  });

  it("is a 400 without text", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const res = await tenant.api(
      `/v1/sandbox/wechat/${appId}/messages`,
      postJson({ openid: FOLLOWERS[0] }),
    );
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: `/v1/sandbox/wechat/${appId}/messages`,
      pointers: ["/text"],
    });
  });
});
