import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, type TestTenant } from "../support/tenants";
import { wechatApp } from "../support/wechat";

const WECHAT = "https://api.weixin.qq.com";

interface WeChatCall {
  method: string;
  path: string;
  accessToken: string | null;
  body: string;
}

/**
 * A fake WeChat: the token endpoint hands out `token-1`, the menu endpoints answer with `menuAnswer`.
 * Both the worker's API calls and the WeChatAccount's token fetch go through the global fetch.
 */
let menuAnswer: Record<string, unknown>;
const calls: WeChatCall[] = [];
const tokenFetches: string[] = [];
beforeEach(() => {
  menuAnswer = { errcode: 0, errmsg: "ok" };
  calls.length = 0;
  tokenFetches.length = 0;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== WECHAT) {
      throw new Error(`unexpected fetch ${url.origin}`);
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      tokenFetches.push(await request.text());
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    calls.push({
      method: request.method,
      path: url.pathname,
      accessToken: url.searchParams.get("access_token"),
      body: await request.text(),
    });
    return Response.json(menuAnswer);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

// In the order the request schema puts fields, so that JSON.stringify gives the exact wire bytes.
const MENU = {
  button: [
    { name: "今日歌曲", type: "click", key: "V1001_TODAY_MUSIC" },
    {
      name: "菜单",
      sub_button: [
        { name: "搜索", type: "view", url: "https://www.soso.com/" },
        { name: "赞一下我们", type: "click", key: "V1001_GOOD" },
      ],
    },
  ],
};

function putMenu(tenant: TestTenant, appId: string, menu: unknown): Promise<Response> {
  return tenant.api(`/v1/wechat/apps/${appId}/menu`, {
    method: "PUT",
    body: JSON.stringify(menu),
  });
}

describe("WeChat menu", () => {
  it("sends a valid menu to WeChat exactly once, with the app's token, and returns it", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const res = await putMenu(tenant, appId, MENU);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(MENU);
    expect(tokenFetches).toHaveLength(1);
    expect(calls).toEqual([
      {
        method: "POST",
        path: "/cgi-bin/menu/create",
        accessToken: "token-1",
        body: JSON.stringify(MENU),
      },
    ]);
    // Names travel as UTF-8, not as \\uXXXX escapes, as callWeChat promises.
    expect(calls[0]?.body).toContain('"name":"今日歌曲"');
  });

  it("reads the menu back from WeChat in the shape PUT takes", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    menuAnswer = {
      menu: {
        button: [
          { type: "click", name: "今日歌曲", key: "V1001_TODAY_MUSIC", sub_button: [] },
          {
            name: "菜单",
            sub_button: [
              { type: "view", name: "搜索", url: "https://www.soso.com/", sub_button: [] },
              { type: "click", name: "赞一下我们", key: "V1001_GOOD", sub_button: [] },
            ],
          },
        ],
        menuid: 208396938,
      },
    };
    const res = await tenant.api(`/v1/wechat/apps/${appId}/menu`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(MENU);
    expect(calls).toMatchObject([{ method: "GET", path: "/cgi-bin/menu/get", body: "" }]);
  });

  it("shows an account without a menu (WeChat's 46003) as an empty one", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    menuAnswer = { errcode: 46003, errmsg: "menu no exist" };
    const res = await tenant.api(`/v1/wechat/apps/${appId}/menu`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ button: [] });
  });

  it("answers a menu that breaks WeChat's rules with 422 at every pointer, without calling WeChat", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const path = `/v1/wechat/apps/${appId}/menu`;
    const menu = {
      button: [
        { type: "click", name: "今日歌曲真好听" },
        { name: "菜单", type: "view", sub_button: [{ type: "view", name: "a", url: "ftp://x" }] },
        { type: "miniprogram", name: "小程序", appid: "wx286b93c14bbf93aa" },
        { type: "location_select", name: "位置", key: "loc" },
      ],
    };
    const problem = await expectProblem(await putMenu(tenant, appId, menu), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      pointers: [
        "/button",
        "/button/0/name",
        "/button/0/key",
        "/button/1/type",
        "/button/1/sub_button/0/url",
        "/button/2/url",
        "/button/2/pagepath",
      ],
    });
    expect(problem.errors).toContainEqual({
      pointer: "/button/0/name",
      detail: "at most 16 bytes of UTF-8 here (a Chinese character is 3), not 21",
    });
    expect(calls).toEqual([]);
    expect(tokenFetches).toEqual([]);
  });

  it("answers a body that is not a menu with 400, without calling WeChat", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await expectProblem(
      await putMenu(tenant, appId, { button: [{ name: 3, type: "click", colour: "red" }] }),
      {
        status: 400,
        slug: "validation-error",
        instance: `/v1/wechat/apps/${appId}/menu`,
        pointers: ["/button/0/name", "/button/0/colour"],
      },
    );
    expect(calls).toEqual([]);
  });

  it("answers WeChat's refusal of a menu with 422 naming WeChat's errcode and errmsg", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    menuAnswer = { errcode: 40018, errmsg: "invalid button name size rid: 6397e9df" };
    await expectProblem(await putMenu(tenant, appId, MENU), {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/wechat/apps/${appId}/menu`,
      detail: /^WeChat refused to set the menu: errcode 40018 \(invalid button name size/,
    });
    expect(calls).toHaveLength(1);
  });

  it("answers 503 when WeChat is busy or cannot be reached", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    menuAnswer = { errcode: -1, errmsg: "system error" };
    await expectProblem(await putMenu(tenant, appId, MENU), {
      status: 503,
      slug: "provider-unavailable",
      instance: `/v1/wechat/apps/${appId}/menu`,
      detail: /errcode -1/,
    });
    vi.mocked(globalThis.fetch).mockRejectedValue(new TypeError("connection refused"));
    await expectProblem(await tenant.api(`/v1/wechat/apps/${appId}/menu`), {
      status: 503,
      slug: "provider-unavailable",
      instance: `/v1/wechat/apps/${appId}/menu`,
    });
  });

  it("keeps menus to admin keys and to the app's own tenant", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const appId = await wechatApp(owner, "safe");
    const path = `/v1/wechat/apps/${appId}/menu`;
    const { key } = await owner.addKey(["messages:send", "messages:read"]);
    for (const init of [{}, { method: "PUT", body: JSON.stringify(MENU) }]) {
      await expectProblem(await call(path, key, init), {
        status: 403,
        slug: "forbidden",
        instance: path,
      });
      await expectProblem(await other.api(path, init), {
        status: 404,
        slug: "not-found",
        instance: path,
      });
      await expectProblem(await call(path, null, init), {
        status: 401,
        slug: "unauthenticated",
        instance: path,
      });
    }
    // Another tenant's invalid menu is a 404 too: the app's existence is not given away.
    await expectProblem(await putMenu(other, appId, { button: [] }), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
    expect(calls).toEqual([]);
    expect(tokenFetches).toEqual([]);
  });
});
