/**
 * WeChat with no account: the platform's own features against the local sandbox. A follower's
 * message goes through the real webhook, signed (and encrypted) as WeChat does; followers, tags,
 * menus and messages go through the sandbox's WeChat API.
 */

import { describe, expect, it } from "vitest";
import { createTenant, messageReaches, postJson, type TestTenant } from "../support/tenants";
import { FOLLOWERS, followerSays, type SandboxApp, sandboxApp } from "../support/wechat-sandbox";
import { syncFollowersJob } from "../support/wechat-sync";

const [alice, bob, carol] = FOLLOWERS;

async function autoReply(app: SandboxApp, keyword: string, content: string) {
  const res = await app.live(
    `/v1/wechat/apps/${app.appId}/auto-replies`,
    postJson({ match: "exact", keyword, reply: { type: "text", content } }),
  );
  expect(res.status).toBe(201);
}

async function contact(app: SandboxApp, externalId: string, openid: string, phone?: string) {
  const res = await app.live(
    "/v1/contacts",
    postJson({
      external_id: externalId,
      ...(phone ? { phone } : {}),
      wechat: [{ app_id: app.appId, openid }],
    }),
  );
  expect(res.status).toBe(201);
}

async function send(tenant: TestTenant, body: unknown): Promise<string> {
  const res = await tenant.api("/v1/messages", postJson(body));
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const TEMPLATE = {
  type: "template",
  wechat_template_id: "tmpl-shipped",
  data: { first: { value: "Your order has shipped" } },
};

describe("a follower's message through the sandbox", () => {
  for (const mode of ["safe", "plaintext"] as const) {
    it(`reaches the webhook signed as WeChat signs and comes back with the auto-reply (${mode} mode)`, async () => {
      const tenant = await createTenant();
      const app = await sandboxApp(tenant, mode);
      await autoReply(app, "hours", "We are open 9 to 5");
      const res = await followerSays(tenant, app.appId, alice, "hours");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        app_id: app.appId,
        openid: alice,
        msg_id: expect.stringMatching(/^\d+$/),
        webhook_status: 200,
        reply: { type: "text", content: "We are open 9 to 5" },
      });
      const inbox = await tenant.api(`/v1/wechat/apps/${app.appId}/inbox`);
      expect(((await inbox.json()) as { data: unknown[] }).data).toEqual([
        expect.objectContaining({ msg_type: "text", from_user: alice }),
      ]);
    });
  }

  it("comes back with no reply when no rule matches", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const res = await followerSays(tenant, app.appId, alice, "anything");
    expect(await res.json()).toMatchObject({ webhook_status: 200, reply: null });
  });
});

describe("followers, tags and the menu through the sandbox", () => {
  it("syncs the sandbox's followers into the followers list", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const job = await syncFollowersJob(app.live, app.appId);
    expect(job).toMatchObject({ status: "done", fetched: 3, total: 3, pages: 1 });
    const list = await tenant.api(`/v1/wechat/apps/${app.appId}/followers`);
    const rows = ((await list.json()) as { data: { openid: string; following: boolean }[] }).data;
    expect(rows.map((r) => [r.openid, r.following])).toEqual(FOLLOWERS.map((o) => [o, true]));
  });

  it("creates a tag and tags followers with it", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const created = await app.live(`/v1/wechat/apps/${app.appId}/tags`, postJson({ name: "VIP" }));
    expect(created.status).toBe(201);
    const tag = (await created.json()) as { id: number };
    const tagged = await app.live(
      `/v1/wechat/apps/${app.appId}/tags/${tag.id}/members`,
      postJson({ openids: [alice, bob] }),
    );
    expect(tagged.status).toBe(200);
    const tags = await tenant.api(`/v1/wechat/apps/${app.appId}/tags`);
    expect(((await tags.json()) as { data: unknown[] }).data).toContainEqual({
      id: tag.id,
      name: "VIP",
      count: 2,
    });
  });

  it("sets the menu and reads it back", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const menu = { button: [{ type: "click", name: "Hours", key: "HOURS" }] };
    const put = await app.live(`/v1/wechat/apps/${app.appId}/menu`, {
      method: "PUT",
      body: JSON.stringify(menu),
      headers: { "content-type": "application/json" },
    });
    expect(put.status).toBe(200);
    const get = await tenant.api(`/v1/wechat/apps/${app.appId}/menu`);
    expect(await get.json()).toEqual(menu);
  });
});

describe("messages through the sandbox", () => {
  it("a template message to a bound contact ends delivered", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    await contact(app, "demo-user", alice);
    const id = await send(tenant, {
      channel: "wechat",
      app_id: app.appId,
      contact: "demo-user",
      wechat: TEMPLATE,
    });
    const done = await messageReaches(tenant, id);
    expect(done).toMatchObject({ status: "delivered", channel: "wechat", to: alice });
    const received = await tenant.api(`/v1/sandbox/wechat/${app.appId}/received`);
    expect(((await received.json()) as { data: unknown[] }).data).toEqual([
      expect.objectContaining({
        kind: "template",
        openid: alice,
        content: expect.objectContaining({ template_id: "tmpl-shipped" }),
      }),
    ]);
  });

  it("a template message to a follower who blocked them ends undelivered", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    const id = await send(tenant, {
      channel: "wechat",
      app_id: app.appId,
      openid: carol,
      wechat: TEMPLATE,
    });
    expect(await messageReaches(tenant, id)).toMatchObject({
      status: "undelivered",
      status_reason: expect.stringContaining("failed:user block"),
    });
  });

  it("a customer-service reply within the window ends delivered", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    expect((await followerSays(tenant, app.appId, bob, "where is my order?")).status).toBe(200);
    const id = await send(tenant, {
      channel: "wechat",
      app_id: app.appId,
      openid: bob,
      wechat: { type: "text", content: "On its way" },
    });
    expect(await messageReaches(tenant, id)).toMatchObject({ status: "delivered", to: bob });
  });

  it("channel auto goes by WeChat to a following contact, by SMS to one who does not follow", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant);
    await contact(app, "u-follows", alice, "+8613800138010");
    await contact(app, "u-silent", bob, "+8613800138011");
    // The platform learns who follows from the webhook (or a sync): Alice speaks, Bob never has.
    await followerSays(tenant, app.appId, alice, "hi");
    const auto = (externalId: string) => ({
      channel: "auto",
      contact: externalId,
      app_id: app.appId,
      wechat: TEMPLATE,
      sms: { body: "Your order has shipped" },
    });
    const byWeChat = await send(tenant, auto("u-follows"));
    expect(await messageReaches(tenant, byWeChat)).toMatchObject({
      status: "delivered",
      channel: "wechat",
      to: alice,
    });
    const bySms = await send(tenant, auto("u-silent"));
    expect(await messageReaches(tenant, bySms)).toMatchObject({
      status: "delivered",
      channel: "sms",
    });
  });
});
