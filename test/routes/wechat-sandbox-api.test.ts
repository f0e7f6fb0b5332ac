/**
 * The sandbox's WeChat side (`/sandbox/wechat/cgi-bin/...`): WeChat's requests and answer shapes,
 * with WeChat's errcodes, for the calls the platform makes.
 */
import { describe, expect, it } from "vitest";
import { createTenant, postJson } from "../support/tenants";
import { wechatApp } from "../support/wechat";
import {
  FOLLOWERS,
  followerSays,
  SANDBOX_SECRET,
  sandboxApp,
  sandboxToken,
  wechatAnswer,
} from "../support/wechat-sandbox";

const [alice, bob] = FOLLOWERS;

async function setUp() {
  const tenant = await createTenant();
  const app = await sandboxApp(tenant);
  return { tenant, appId: app.appId, token: await sandboxToken(app.appId) };
}

describe("the sandbox's token endpoints", () => {
  it("gives the app a token from stable_token, the same one again, and a new one when forced", async () => {
    const { appId } = await sandboxApp(await createTenant());
    const ask = (force: boolean) =>
      wechatAnswer(
        "/cgi-bin/stable_token",
        postJson({
          grant_type: "client_credential",
          appid: appId,
          secret: SANDBOX_SECRET,
          force_refresh: force,
        }),
      );
    const first = await ask(false);
    expect(first).toEqual({ access_token: expect.any(String), expires_in: 7200 });
    // WeChat counts the same token's expires_in down.
    expect(await ask(false)).toMatchObject({ access_token: first.access_token });
    const forced = await ask(true);
    expect(forced.access_token).not.toBe(first.access_token);
  });

  it("gives a new token on every call of the classic token endpoint", async () => {
    const { appId } = await sandboxApp(await createTenant());
    const query = `grant_type=client_credential&appid=${appId}&secret=${SANDBOX_SECRET}`;
    const first = await wechatAnswer(`/cgi-bin/token?${query}`);
    const second = await wechatAnswer(`/cgi-bin/token?${query}`);
    expect(first).toEqual({ access_token: expect.any(String), expires_in: 7200 });
    expect(second.access_token).not.toBe(first.access_token);
  });

  it("refuses a wrong secret with 40001 (token) or 40125 (stable_token)", async () => {
    const { appId } = await sandboxApp(await createTenant());
    const wrong = "ffffffffffffffffffffffffffffffff";
    expect(
      await wechatAnswer(
        `/cgi-bin/token?grant_type=client_credential&appid=${appId}&secret=${wrong}`,
      ),
    ).toMatchObject({ errcode: 40001 });
    expect(
      await wechatAnswer(
        "/cgi-bin/stable_token",
        postJson({ grant_type: "client_credential", appid: appId, secret: wrong }),
      ),
    ).toMatchObject({ errcode: 40125 });
  });

  it("refuses an app that is not a sandbox app with 40013", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    expect(
      await wechatAnswer(
        "/cgi-bin/stable_token",
        postJson({ grant_type: "client_credential", appid: appId, secret: SANDBOX_SECRET }),
      ),
    ).toMatchObject({ errcode: 40013 });
  });

  it("refuses a call without a token (41001) or with one it never gave (40001)", async () => {
    expect(await wechatAnswer("/cgi-bin/user/get")).toMatchObject({ errcode: 41001 });
    expect(await wechatAnswer("/cgi-bin/user/get?access_token=made-up")).toMatchObject({
      errcode: 40001,
    });
  });

  it("stops taking a token once a forced refresh replaced it", async () => {
    const { appId, token } = await setUp();
    await wechatAnswer(
      "/cgi-bin/stable_token",
      postJson({
        grant_type: "client_credential",
        appid: appId,
        secret: SANDBOX_SECRET,
        force_refresh: true,
      }),
    );
    expect(await wechatAnswer(`/cgi-bin/user/get?access_token=${token}`)).toMatchObject({
      errcode: 40001,
    });
  });
});

describe("the sandbox's followers", () => {
  it("lists its followers a page at a time, as user/get does", async () => {
    const { token } = await setUp();
    const page = await wechatAnswer(`/cgi-bin/user/get?access_token=${token}`);
    expect(page).toEqual({
      total: 3,
      count: 3,
      data: { openid: [...FOLLOWERS] },
      next_openid: FOLLOWERS[2],
    });
    expect(
      await wechatAnswer(`/cgi-bin/user/get?access_token=${token}&next_openid=${FOLLOWERS[2]}`),
    ).toEqual({ total: 3, count: 0, next_openid: "" });
  });

  it("gives a follower's info alone or in a batch, and 40003 for a user it does not know", async () => {
    const { token } = await setUp();
    const info = await wechatAnswer(`/cgi-bin/user/info?access_token=${token}&openid=${alice}`);
    expect(info).toMatchObject({
      subscribe: 1,
      openid: alice,
      language: "zh_CN",
      subscribe_time: expect.any(Number),
      remark: expect.any(String),
      tagid_list: [],
    });
    const batch = await wechatAnswer(
      `/cgi-bin/user/info/batchget?access_token=${token}`,
      postJson({ user_list: [{ openid: alice }, { openid: bob, lang: "zh_CN" }] }),
    );
    expect(batch.user_info_list).toEqual([
      expect.objectContaining({ openid: alice, subscribe: 1 }),
      expect.objectContaining({ openid: bob, subscribe: 1 }),
    ]);
    expect(
      await wechatAnswer(`/cgi-bin/user/info?access_token=${token}&openid=oNobodyAtAll`),
    ).toMatchObject({ errcode: 40003 });
  });

  it("creates tags, tags and untags followers, and lists a tag's members", async () => {
    const { token } = await setUp();
    const api = (path: string, body?: unknown) =>
      wechatAnswer(
        `/cgi-bin/${path}?access_token=${token}`,
        body === undefined ? {} : postJson(body),
      );
    expect(await api("tags/get")).toEqual({ tags: [{ id: 2, name: "星标组", count: 0 }] });
    const created = await api("tags/create", { tag: { name: "VIP" } });
    expect(created).toEqual({ tag: { id: 100, name: "VIP" } });
    expect(await api("tags/create", { tag: { name: "VIP" } })).toMatchObject({ errcode: 45157 });

    const ok = { errcode: 0, errmsg: "ok" };
    expect(
      await api("tags/members/batchtagging", { openid_list: [alice, bob], tagid: 100 }),
    ).toEqual(ok);
    expect(await api("tags/get")).toEqual({
      tags: [
        { id: 2, name: "星标组", count: 0 },
        { id: 100, name: "VIP", count: 2 },
      ],
    });
    expect(await api("tags/getidlist", { openid: alice })).toEqual({ tagid_list: [100] });
    expect(await api("user/tag/get", { tagid: 100 })).toEqual({
      count: 2,
      data: { openid: [alice, bob] },
      next_openid: bob,
    });
    expect(await api("tags/members/batchuntagging", { openid_list: [alice], tagid: 100 })).toEqual(
      ok,
    );
    expect(await api("tags/getidlist", { openid: alice })).toEqual({ tagid_list: [] });
    expect(
      await api("tags/members/batchtagging", { openid_list: [alice], tagid: 999 }),
    ).toMatchObject({ errcode: 45159 });
  });
});

describe("the sandbox's menu", () => {
  it("sets, reads and deletes the menu, answering 46003 when there is none", async () => {
    const { token } = await setUp();
    const get = () => wechatAnswer(`/cgi-bin/menu/get?access_token=${token}`);
    expect(await get()).toMatchObject({ errcode: 46003 });
    const menu = { button: [{ type: "click", name: "Hours", key: "HOURS" }] };
    expect(
      await wechatAnswer(`/cgi-bin/menu/create?access_token=${token}`, postJson(menu)),
    ).toEqual({ errcode: 0, errmsg: "ok" });
    expect(await get()).toEqual({
      menu: { button: [{ type: "click", name: "Hours", key: "HOURS", sub_button: [] }] },
    });
    expect(await wechatAnswer(`/cgi-bin/menu/delete?access_token=${token}`)).toEqual({
      errcode: 0,
      errmsg: "ok",
    });
    expect(await get()).toMatchObject({ errcode: 46003 });
  });
});

describe("the sandbox's message sends", () => {
  it("takes a template message to a follower with a msgid, and 40003 for someone else", async () => {
    const { token } = await setUp();
    const send = (touser: string) =>
      wechatAnswer(
        `/cgi-bin/message/template/send?access_token=${token}`,
        postJson({ touser, template_id: "tmpl-shipped", data: { first: { value: "Shipped" } } }),
      );
    expect(await send(alice)).toEqual({ errcode: 0, errmsg: "ok", msgid: expect.any(Number) });
    expect(await send("oNobodyAtAll")).toMatchObject({ errcode: 40003 });
  });

  it("takes a customer-service message only within 48 hours of the follower's last message", async () => {
    const { tenant, appId, token } = await setUp();
    const send = () =>
      wechatAnswer(
        `/cgi-bin/message/custom/send?access_token=${token}`,
        postJson({ touser: bob, msgtype: "text", text: { content: "Hello" } }),
      );
    expect(await send()).toMatchObject({ errcode: 45015 });
    expect((await followerSays(tenant, appId, bob, "hi")).status).toBe(200);
    expect(await send()).toEqual({ errcode: 0, errmsg: "ok" });
  });

  it("answers 48001 for an API it does not play", async () => {
    const { token } = await setUp();
    expect(
      await wechatAnswer(`/cgi-bin/card/create?access_token=${token}`, postJson({})),
    ).toMatchObject({ errcode: 48001 });
  });
});
