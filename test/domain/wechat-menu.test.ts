import { describe, expect, it } from "vitest";
import {
  type Menu,
  type MenuButton,
  menuForWeChat,
  menuFromWeChat,
  utf8Bytes,
  validateMenu,
} from "../../src/domain/wechat-menu";

const click = (name: string, key = "K"): MenuButton => ({ type: "click", name, key });
const one = (button: MenuButton): Menu => ({ button: [button] });
const pointers = (menu: Menu) => validateMenu(menu).map((p) => p.pointer);

/** WeChat's own example from the menu/create page, with a mini program sub-button. */
const WECHAT_EXAMPLE: Menu = {
  button: [
    { type: "click", name: "今日歌曲", key: "V1001_TODAY_MUSIC" },
    {
      name: "菜单",
      sub_button: [
        { type: "view", name: "搜索", url: "http://www.soso.com/" },
        {
          type: "miniprogram",
          name: "wxa",
          url: "http://mp.weixin.qq.com",
          appid: "wx286b93c14bbf93aa",
          pagepath: "pages/lunar/index",
        },
        { type: "click", name: "赞一下我们", key: "V1001_GOOD" },
      ],
    },
  ],
};

describe("validateMenu", () => {
  it("accepts WeChat's own example menu", () => {
    expect(validateMenu(WECHAT_EXAMPLE)).toEqual([]);
  });

  it("accepts every button type with the fields it needs", () => {
    const menu: Menu = {
      button: [
        {
          name: "事件",
          sub_button: [
            { type: "scancode_push", name: "扫码推事件", key: "s1" },
            { type: "scancode_waitmsg", name: "扫码带提示", key: "s2" },
            { type: "pic_sysphoto", name: "系统拍照发图", key: "p1" },
            { type: "pic_photo_or_album", name: "拍照或者相册发图", key: "p2" },
            { type: "pic_weixin", name: "微信相册发图", key: "p3" },
          ],
        },
        {
          name: "素材",
          sub_button: [
            { type: "media_id", name: "图片", media_id: "MEDIA_ID1" },
            { type: "view_limited", name: "图文消息", media_id: "MEDIA_ID2" },
            { type: "article_id", name: "发布后的图文", article_id: "ARTICLE_ID1" },
            { type: "article_view_limited", name: "图文链接", article_id: "ARTICLE_ID2" },
          ],
        },
        { type: "location_select", name: "发送位置", key: "loc" },
      ],
    };
    expect(validateMenu(menu)).toEqual([]);
  });

  it("refuses an empty menu and more than three top-level buttons", () => {
    expect(validateMenu({ button: [] })).toEqual([
      { pointer: "/button", detail: "a menu has 1–3 top-level buttons, not 0" },
    ]);
    expect(pointers({ button: [click("a"), click("b"), click("c"), click("d")] })).toEqual([
      "/button",
    ]);
    expect(pointers({ button: [click("a"), click("b"), click("c")] })).toEqual([]);
  });

  it("allows five sub-buttons and refuses a sixth", () => {
    const subs = (n: number) => Array.from({ length: n }, (_, i) => click(`s${i}`));
    expect(pointers(one({ name: "more", sub_button: subs(5) }))).toEqual([]);
    expect(validateMenu(one({ name: "more", sub_button: subs(6) }))).toEqual([
      { pointer: "/button/0/sub_button", detail: "a button has at most 5 sub-buttons, not 6" },
    ]);
  });

  it("counts a top-level name in UTF-8 bytes: 16 ASCII or 5 Chinese characters is the most", () => {
    expect(utf8Bytes("今日歌曲")).toBe(12);
    expect(pointers(one(click("a".repeat(16))))).toEqual([]);
    expect(pointers(one(click("今日歌曲好")))).toEqual([]); // 15 bytes
    expect(pointers(one(click("a".repeat(17))))).toEqual(["/button/0/name"]);
    expect(validateMenu(one(click("今日歌曲好听")))).toEqual([
      {
        pointer: "/button/0/name",
        detail: "at most 16 bytes of UTF-8 here (a Chinese character is 3), not 18",
      },
    ]);
  });

  it("allows a sub-button name of 60 bytes (20 Chinese characters) and refuses 61", () => {
    const sub = (name: string) => one({ name: "菜单", sub_button: [click(name)] });
    expect(pointers(sub("汉".repeat(20)))).toEqual([]);
    expect(pointers(sub(`${"汉".repeat(20)}a`))).toEqual(["/button/0/sub_button/0/name"]);
  });

  it("refuses a blank name", () => {
    expect(validateMenu(one(click("  ")))).toEqual([
      { pointer: "/button/0/name", detail: "a button needs a name" },
    ]);
  });

  it("needs a key of at most 128 bytes on click-like buttons", () => {
    expect(pointers(one({ type: "pic_weixin", name: "发图" }))).toEqual(["/button/0/key"]);
    expect(pointers(one(click("a", "")))).toEqual(["/button/0/key"]);
    expect(pointers(one(click("a", "k".repeat(128))))).toEqual([]);
    expect(pointers(one(click("a", "键".repeat(43))))).toEqual(["/button/0/key"]); // 129 bytes
  });

  it("needs an http or https url of at most 1024 bytes on a view button", () => {
    const view = (url?: string) => one({ type: "view", name: "网页", url });
    expect(pointers(view())).toEqual(["/button/0/url"]);
    expect(pointers(view("https://example.com/"))).toEqual([]);
    expect(validateMenu(view("javascript:alert(1)"))).toEqual([
      { pointer: "/button/0/url", detail: "an http or https URL" },
    ]);
    expect(pointers(view("not a url"))).toEqual(["/button/0/url"]);
    const long = `https://example.com/${"a".repeat(1005)}`;
    expect(utf8Bytes(long)).toBe(1025);
    expect(pointers(view(long))).toEqual(["/button/0/url"]);
    expect(pointers(view(long.slice(0, 1024)))).toEqual([]);
  });

  it("needs appid, pagepath and a fallback url on a mini program button", () => {
    expect(validateMenu(one({ type: "miniprogram", name: "小程序" }))).toEqual([
      { pointer: "/button/0/url", detail: "a `miniprogram` button needs `url`" },
      { pointer: "/button/0/appid", detail: "a `miniprogram` button needs `appid`" },
      { pointer: "/button/0/pagepath", detail: "a `miniprogram` button needs `pagepath`" },
    ]);
  });

  it("needs media_id on media_id and view_limited, article_id on the article types", () => {
    expect(pointers(one({ type: "media_id", name: "图片" }))).toEqual(["/button/0/media_id"]);
    expect(pointers(one({ type: "view_limited", name: "图文" }))).toEqual(["/button/0/media_id"]);
    expect(pointers(one({ type: "article_id", name: "图文" }))).toEqual(["/button/0/article_id"]);
    expect(pointers(one({ type: "article_view_limited", name: "图文", media_id: "M" }))).toEqual([
      "/button/0/media_id",
      "/button/0/article_id",
    ]);
  });

  it("refuses a field the button's type does not use", () => {
    expect(validateMenu(one({ ...click("a"), url: "https://example.com/" }))).toEqual([
      { pointer: "/button/0/url", detail: "a `click` button has no `url`" },
    ]);
  });

  it("refuses an unknown type, naming the known ones", () => {
    const [problem, ...rest] = validateMenu(one({ type: "news", name: "a", key: "k" }));
    expect(rest).toEqual([]);
    expect(problem?.pointer).toBe("/button/0/type");
    expect(problem?.detail).toMatch(
      /^unknown button type `news`; one of click, .*article_view_limited$/,
    );
    expect(pointers(one({ type: "toString", name: "a" }))).toEqual(["/button/0/type"]);
  });

  it("needs a type on a top-level button without sub-buttons, and on every sub-button", () => {
    expect(validateMenu(one({ name: "空" }))).toEqual([
      { pointer: "/button/0/type", detail: "a button without sub-buttons needs a `type`" },
    ]);
    expect(pointers(one({ name: "空", sub_button: [] }))).toEqual(["/button/0/type"]);
    expect(pointers(one({ name: "菜单", sub_button: [{ name: "子" }] }))).toEqual([
      "/button/0/sub_button/0/type",
    ]);
  });

  it("refuses a type or an action on a button that has sub-buttons", () => {
    expect(
      validateMenu(one({ type: "click", name: "菜单", key: "k", sub_button: [click("a")] })),
    ).toEqual([
      {
        pointer: "/button/0/type",
        detail: "a button with sub-buttons has no `type`: it only opens them",
      },
      { pointer: "/button/0/key", detail: "a button with sub-buttons has no `key`" },
    ]);
  });

  it("refuses sub-buttons nested in a sub-button, but takes an empty list as none", () => {
    const nested = one({ name: "菜单", sub_button: [{ ...click("a"), sub_button: [click("b")] }] });
    expect(pointers(nested)).toEqual(["/button/0/sub_button/0/sub_button"]);
    const empty = one({ name: "菜单", sub_button: [{ ...click("a"), sub_button: [] }] });
    expect(pointers(empty)).toEqual([]);
  });

  it("reports every problem of a menu at once, each at its pointer", () => {
    const menu: Menu = {
      button: [
        { name: "一二三四五六", type: "view", url: "ftp://x" },
        {
          name: "菜单",
          sub_button: [
            { type: "click", name: "a" },
            { type: "bogus", name: "b" },
          ],
        },
      ],
    };
    expect(pointers(menu)).toEqual([
      "/button/0/name",
      "/button/0/url",
      "/button/1/sub_button/0/key",
      "/button/1/sub_button/1/type",
    ]);
  });
});

describe("menuForWeChat and menuFromWeChat", () => {
  it("sends the menu as given, without empty sub_button lists", () => {
    const menu: Menu = {
      button: [
        { ...click("a"), sub_button: [] },
        { name: "菜单", sub_button: [{ ...click("b"), sub_button: [] }] },
      ],
    };
    expect(menuForWeChat(menu)).toEqual({
      button: [click("a"), { name: "菜单", sub_button: [click("b")] }],
    });
  });

  it("reads WeChat's menu/get answer back into the shape PUT takes", () => {
    const answer = {
      menu: {
        button: [
          { type: "click", name: "今日歌曲", key: "V1001_TODAY_MUSIC", sub_button: [] },
          {
            name: "菜单",
            sub_button: [
              { type: "view", name: "搜索", url: "http://www.soso.com/", sub_button: [] },
            ],
          },
        ],
        menuid: 208396938,
      },
      conditionalmenu: [],
    };
    const menu = menuFromWeChat(answer);
    expect(menu).toEqual({
      button: [
        { type: "click", name: "今日歌曲", key: "V1001_TODAY_MUSIC" },
        { name: "菜单", sub_button: [{ type: "view", name: "搜索", url: "http://www.soso.com/" }] },
      ],
    });
    expect(validateMenu(menu)).toEqual([]);
    expect(menuFromWeChat({})).toEqual({ button: [] });
  });
});
