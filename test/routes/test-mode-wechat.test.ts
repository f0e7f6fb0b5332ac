/**
 * Test keys send only through sandboxes, WeChat included: a WeChat message in test mode goes only
 * through an app whose API is the local WeChat sandbox, never to WeChat itself.
 */
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";
import { wechatApp } from "../support/wechat";
import { sandboxApp } from "../support/wechat-sandbox";

const TEMPLATE = {
  type: "template",
  wechat_template_id: "tmpl-shipped",
  data: { first: { value: "Your order has shipped" } },
};

const TEST_MODE_WECHAT = /^Test keys send WeChat messages only through a sandbox app/;

describe("a test key and a WeChat app whose API is WeChat's", () => {
  it("cannot send to it by WeChat or by the best channel: a 403 naming test mode, which a live key is not", async () => {
    const tenant = await createTenant();
    const test = await tenant.addKey(["admin"], "test");
    const appId = await wechatApp(tenant, "safe");
    const bound = await tenant.api(
      "/v1/contacts",
      postJson({
        external_id: "ann",
        phone: "+8613800138020",
        wechat: [{ app_id: appId, openid: "oAnn" }],
      }),
    );
    expect(bound.status).toBe(201);
    const requests = [
      { channel: "wechat", app_id: appId, openid: "oAnn", wechat: TEMPLATE },
      { channel: "wechat", app_id: appId, contact: "ann", wechat: TEMPLATE },
      {
        channel: "auto",
        app_id: appId,
        contact: "ann",
        wechat: TEMPLATE,
        sms: { body: "Your order has shipped" },
      },
    ];
    for (const request of requests) {
      await expectProblem(await call("/v1/messages", test.key, postJson(request)), {
        status: 403,
        slug: "forbidden",
        instance: "/v1/messages",
        detail: TEST_MODE_WECHAT,
      });
    }
    const live = await tenant.api("/v1/messages", postJson(requests[0]));
    expect(live.status).toBe(202);
  });

  it("sends through a sandbox app as before", async () => {
    const tenant = await createTenant();
    const test = await tenant.addKey(["admin"], "test");
    const app = await sandboxApp(tenant);
    const res = await call(
      "/v1/messages",
      test.key,
      postJson({
        channel: "wechat",
        app_id: app.appId,
        openid: "oSandboxFollower000000000001",
        wechat: TEMPLATE,
      }),
    );
    expect(res.status).toBe(202);
  });
});
