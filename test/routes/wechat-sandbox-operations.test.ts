/**
 * Issue 18's operations through the local WeChat sandbox, as a new user tries them with
 * `npm start`: a large follower sync (the sandbox's `followers_count`), a JS-SDK config, a
 * subscription notice, the template library, remarks, the blacklist and conditional menus.
 */
import { describe, expect, it } from "vitest";
import { jssdkSignature } from "../../src/channels/wechat/jssdk";
import { expectProblem } from "../support/problem";
import { createTenant, messageReaches, postJson, type TestTenant } from "../support/tenants";
import { FOLLOWERS, sandboxApp, sandboxToken, wechatAnswer } from "../support/wechat-sandbox";
import { syncFollowersJob } from "../support/wechat-sync";

const [alice, bob, carol] = FOLLOWERS;

const json = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function send(tenant: TestTenant, body: unknown): Promise<Response> {
  return tenant.api("/v1/messages", postJson(body));
}

const NOTICE = {
  type: "subscribe_notice",
  wechat_template_id: "notice-shipped",
  data: { thing1: { value: "Order 8812 shipped" }, time2: { value: "2026-12-07 10:00" } },
  page: "https://shop.example.com/orders/8812",
};

describe("operations through the WeChat sandbox", () => {
  it("syncs a sandbox account of 25,000 followers in three pages", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const set = await tenant.api(
      `/v1/sandbox/wechat/${app.appId}/settings`,
      json("PUT", { followers_count: 25_000 }),
    );
    expect(await set.json()).toEqual({ app_id: app.appId, followers_count: 25_000 });
    const job = await syncFollowersJob(app.live, app.appId, 60_000);
    expect(job).toMatchObject({ status: "done", fetched: 25_000, total: 25_000, pages: 3 });
    const last = await tenant.api(
      `/v1/wechat/apps/${app.appId}/followers?following=true&cursor=oSandboxFollower000000024998`,
    );
    expect(
      ((await last.json()) as { data: { openid: string }[] }).data.map((f) => f.openid),
    ).toEqual(["oSandboxFollower000000024999", "oSandboxFollower000000025000"]);
    // Back to 10: the sync marks the ones gone as unfollowed.
    await tenant.api(
      `/v1/sandbox/wechat/${app.appId}/settings`,
      json("PUT", { followers_count: 10 }),
    );
    expect(await syncFollowersJob(app.live, app.appId)).toMatchObject({ fetched: 10, total: 10 });
    const gone = await tenant.api(`/v1/wechat/apps/${app.appId}/followers?following=false&limit=1`);
    expect(((await gone.json()) as { data: { openid: string }[] }).data).toEqual([
      expect.objectContaining({ openid: "oSandboxFollower000000000011", following: false }),
    ]);
  }, 60_000);

  it("signs a JS-SDK config with the sandbox account's ticket", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const url = "https://shop.example.com/item?id=7#top";
    const res = await app.live(
      `/v1/wechat/apps/${app.appId}/jssdk-config?url=${encodeURIComponent(url)}`,
    );
    expect(res.status).toBe(200);
    const config = (await res.json()) as {
      app_id: string;
      timestamp: number;
      nonce_str: string;
      signature: string;
    };
    const token = await sandboxToken(app.appId);
    const ticket = await wechatAnswer(`/cgi-bin/ticket/getticket?type=jsapi&access_token=${token}`);
    expect(config.app_id).toBe(app.appId);
    expect(config.signature).toBe(
      await jssdkSignature({
        ticket: String(ticket.ticket),
        nonceStr: config.nonce_str,
        timestamp: config.timestamp,
        url: "https://shop.example.com/item?id=7",
      }),
    );
  });

  it("delivers a subscription notice, and one to a follower who refused notices fails", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const sent = await send(tenant, {
      channel: "wechat",
      app_id: app.appId,
      openid: alice,
      wechat: NOTICE,
    });
    expect(sent.status, await sent.clone().text()).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    expect(await messageReaches(tenant, id)).toMatchObject({ status: "delivered", to: alice });
    const received = await tenant.api(`/v1/sandbox/wechat/${app.appId}/received`);
    expect(((await received.json()) as { data: unknown[] }).data).toEqual([
      {
        kind: "subscribe_notice",
        msg_id: null,
        openid: alice,
        content: {
          template_id: "notice-shipped",
          data: NOTICE.data,
          page: NOTICE.page,
        },
        received_at: expect.any(String),
      },
    ]);
    const refused = await send(tenant, {
      channel: "wechat",
      app_id: app.appId,
      openid: carol,
      wechat: NOTICE,
    });
    const refusedId = ((await refused.json()) as { id: string }).id;
    expect(await messageReaches(tenant, refusedId)).toMatchObject({
      status: "failed",
      status_reason: expect.stringContaining("43101"),
    });
  });

  it("checks a notice's data against WeChat's limits before accepting it", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const data = { thing1: { value: "x".repeat(21) }, colour3: { value: "red" } };
    await expectProblem(
      await send(tenant, {
        channel: "wechat",
        app_id: app.appId,
        openid: bob,
        wechat: { ...NOTICE, data },
      }),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/messages",
        pointers: ["/wechat/data/thing1/value", "/wechat/data/colour3"],
      },
    );
  });

  it("adds a template from the library, lists it and deletes it", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const base = `/v1/wechat/apps/${app.appId}/templates`;
    const added = await app.live(base, postJson({ template_id_short: "OPENTM207498902" }));
    expect(added.status).toBe(201);
    const { template_id } = (await added.json()) as { template_id: string };
    const listed = await app.live(base);
    expect(((await listed.json()) as { data: unknown[] }).data).toEqual([
      expect.objectContaining({ template_id, title: "订单发货提醒" }),
    ]);
    expect((await app.live(`${base}/${template_id}`, { method: "DELETE" })).status).toBe(204);
    await expectProblem(await app.live(`${base}/${template_id}`, { method: "DELETE" }), {
      status: 422,
      slug: "unprocessable-entity",
      instance: `${base}/${template_id}`,
      detail: /errcode 40037/,
    });
  });

  it("sets a remark, blacklists a follower and shows a tag its own menu", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const base = `/v1/wechat/apps/${app.appId}`;
    expect(
      (await app.live(`${base}/followers/${bob}/remark`, json("PUT", { remark: "Robert" }))).status,
    ).toBe(200);
    const token = await sandboxToken(app.appId);
    const info = await wechatAnswer(`/cgi-bin/user/info?openid=${bob}&access_token=${token}`);
    expect(info.remark).toBe("Robert");

    expect((await app.live(`${base}/blacklist`, postJson({ openids: [bob] }))).status).toBe(200);
    const listed = await app.live(`${base}/blacklist`);
    expect(await listed.json()).toEqual({ data: [bob], total: 1, next_cursor: bob });

    const menu = { button: [{ name: "VIP", type: "click", key: "VIP" }] };
    const early = await app.live(`${base}/menu/conditional`, postJson({ ...menu, tag_id: 2 }));
    expect(early.status).toBe(422);
    expect((await app.live(`${base}/menu`, json("PUT", menu))).status).toBe(200);
    const added = await app.live(`${base}/menu/conditional`, postJson({ ...menu, tag_id: 2 }));
    expect(added.status).toBe(201);
    const { menu_id } = (await added.json()) as { menu_id: string };
    expect(
      (await app.live(`${base}/menu/conditional/${menu_id}`, { method: "DELETE" })).status,
    ).toBe(204);
    expect((await app.live(`${base}/menu`, { method: "DELETE" })).status).toBe(204);
    expect(await (await app.live(`${base}/menu`)).json()).toEqual({ button: [] });
  });
});
