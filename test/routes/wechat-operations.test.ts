/**
 * Issue 18's account operations against a fake WeChat: tag rename and delete, remarks, the
 * blacklist, conditional menus and deleting the menu, and the template library. Each asserts the
 * exact request WeChat gets, WeChat's refusals mapped to 422, limits checked before calling, and
 * the audit entry an administrative change leaves.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";
import { wechatApp } from "../support/wechat";

const WECHAT = "https://api.weixin.qq.com";

interface WeChatCall {
  path: string;
  query: Record<string, string>;
  body: unknown;
}

const calls: WeChatCall[] = [];
let answers: Map<string, Record<string, unknown>>;
beforeEach(() => {
  calls.length = 0;
  answers = new Map();
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== WECHAT) {
      throw new Error(`unexpected fetch ${url.origin}`);
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    expect(url.searchParams.get("access_token")).toBe("token-1");
    const query = Object.fromEntries(url.searchParams);
    delete query.access_token;
    const text = await request.text();
    calls.push({ path: url.pathname, query, body: text ? JSON.parse(text) : undefined });
    return Response.json(answers.get(url.pathname) ?? { errcode: 0, errmsg: "ok" });
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const json = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function actions(tenant: TestTenant): Promise<string[]> {
  const page = await listAuditEntries(env, tenant.id, {}, { limit: 100 });
  return page.data.map((entry) => `${entry.action} ${entry.target}`).reverse();
}

async function followerRow(appId: string, openid: string) {
  return env.DB.prepare(
    "SELECT tag_ids, info FROM wechat_followers WHERE app_id = ? AND openid = ?",
  )
    .bind(appId, openid)
    .first<{ tag_ids: string; info: string | null }>();
}

async function seed(tenant: TestTenant, appId: string, openid: string, tagIds: number[]) {
  await env.DB.prepare(
    `INSERT INTO wechat_followers (app_id, openid, tenant_id, following, info, tag_ids, updated_at)
     VALUES (?, ?, ?, 1, ?, ?, 0)`,
  )
    .bind(appId, openid, tenant.id, JSON.stringify({ openid, remark: "" }), JSON.stringify(tagIds))
    .run();
}

describe("WeChat tag rename and delete", () => {
  it("renames and deletes a tag at WeChat, takes it off the rows and audits both", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await seed(tenant, appId, "oUserA", [2, 134]);
    await seed(tenant, appId, "oUserB", [134]);
    const tag = `/v1/wechat/apps/${appId}/tags/134`;

    const renamed = await tenant.api(tag, json("PATCH", { name: "上海" }));
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toEqual({ id: 134, name: "上海" });
    const deleted = await tenant.api(tag, { method: "DELETE" });
    expect(deleted.status).toBe(204);

    expect(calls).toEqual([
      { path: "/cgi-bin/tags/update", query: {}, body: { tag: { id: 134, name: "上海" } } },
      { path: "/cgi-bin/tags/delete", query: {}, body: { tag: { id: 134 } } },
    ]);
    expect((await followerRow(appId, "oUserA"))?.tag_ids).toBe("[2]");
    expect((await followerRow(appId, "oUserB"))?.tag_ids).toBe("[]");
    expect(await actions(tenant)).toEqual(
      expect.arrayContaining([`wechat_tag.update ${appId}/134`, `wechat_tag.delete ${appId}/134`]),
    );
  });

  it("refuses WeChat's own tags without calling, and maps WeChat's 45057 to a 422", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await expectProblem(await tenant.api(`/v1/wechat/apps/${appId}/tags/2`, { method: "DELETE" }), {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/wechat/apps/${appId}/tags/2`,
      detail: /WeChat's own/,
    });
    expect(calls).toEqual([]);
    answers.set("/cgi-bin/tags/delete", {
      errcode: 45057,
      errmsg: "can't delete the tag that has too many fans",
    });
    const path = `/v1/wechat/apps/${appId}/tags/140`;
    await expectProblem(await tenant.api(path, { method: "DELETE" }), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /^WeChat refused to delete the tag: errcode 45057 /,
    });
    expect(await actions(tenant)).not.toContain(`wechat_tag.delete ${appId}/140`);
  });
});

describe("WeChat follower remarks and the blacklist", () => {
  it("sets a remark at WeChat and in the row's info, and checks its length first", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await seed(tenant, appId, "oUserA", []);
    const path = `/v1/wechat/apps/${appId}/followers/oUserA/remark`;
    const res = await tenant.api(path, json("PUT", { remark: "VIP 王女士" }));
    expect(res.status).toBe(200);
    expect(calls).toEqual([
      {
        path: "/cgi-bin/user/info/updateremark",
        query: {},
        body: { openid: "oUserA", remark: "VIP 王女士" },
      },
    ]);
    expect(JSON.parse((await followerRow(appId, "oUserA"))?.info ?? "{}")).toMatchObject({
      remark: "VIP 王女士",
    });
    expect(await actions(tenant)).toContain(`wechat_follower.remark ${appId}/oUserA`);
    await expectProblem(await tenant.api(path, json("PUT", { remark: "长".repeat(30) })), {
      status: 400,
      slug: "validation-error",
      instance: path,
      pointers: ["/remark"],
    });
    expect(calls).toHaveLength(1);
  });

  it("blacklists 45 users in calls of 20, lists the blacklist and takes them off", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const openids = Array.from({ length: 45 }, (_, i) => `oUser${String(i).padStart(2, "0")}`);
    const path = `/v1/wechat/apps/${appId}/blacklist`;
    const added = await tenant.api(path, postJson({ openids }));
    expect(await added.json()).toEqual({ openids: 45, batches: 3 });
    expect(calls.map((c) => [c.path, (c.body as { openid_list: string[] }).openid_list])).toEqual([
      ["/cgi-bin/tags/members/batchblacklist", openids.slice(0, 20)],
      ["/cgi-bin/tags/members/batchblacklist", openids.slice(20, 40)],
      ["/cgi-bin/tags/members/batchblacklist", openids.slice(40)],
    ]);
    calls.length = 0;
    answers.set("/cgi-bin/tags/members/getblacklist", {
      total: 45,
      count: 2,
      data: { openid: ["oUser00", "oUser01"] },
      next_openid: "oUser01",
    });
    const listed = await tenant.api(`${path}?cursor=oUser99`);
    expect(await listed.json()).toEqual({
      data: ["oUser00", "oUser01"],
      total: 45,
      next_cursor: "oUser01",
    });
    expect(calls).toEqual([
      { path: "/cgi-bin/tags/members/getblacklist", query: {}, body: { begin_openid: "oUser99" } },
    ]);
    calls.length = 0;
    const removed = await tenant.api(path, json("DELETE", { openids: openids.slice(0, 3) }));
    expect(await removed.json()).toEqual({ openids: 3, batches: 1 });
    expect(calls.map((c) => c.path)).toEqual(["/cgi-bin/tags/members/batchunblacklist"]);
    expect(await actions(tenant)).toEqual(
      expect.arrayContaining([`wechat_blacklist.add ${appId}`, `wechat_blacklist.remove ${appId}`]),
    );
  });
});

describe("WeChat conditional menus", () => {
  const menu = { button: [{ name: "VIP", type: "click", key: "VIP_DESK" }] };

  it("adds a menu for a tag, deletes it, and deletes the whole menu", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    answers.set("/cgi-bin/menu/addconditional", { menuid: "208379533" });
    const base = `/v1/wechat/apps/${appId}/menu`;
    const added = await tenant.api(`${base}/conditional`, postJson({ ...menu, tag_id: 134 }));
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({ menu_id: "208379533", tag_id: 134, ...menu });
    expect((await tenant.api(`${base}/conditional/208379533`, { method: "DELETE" })).status).toBe(
      204,
    );
    expect((await tenant.api(base, { method: "DELETE" })).status).toBe(204);
    expect(calls).toEqual([
      {
        path: "/cgi-bin/menu/addconditional",
        query: {},
        body: { ...menu, matchrule: { tag_id: "134" } },
      },
      { path: "/cgi-bin/menu/delconditional", query: {}, body: { menuid: "208379533" } },
      { path: "/cgi-bin/menu/delete", query: {}, body: undefined },
    ]);
    expect(await actions(tenant)).toEqual(
      expect.arrayContaining([
        `wechat_menu.conditional_create ${appId}/208379533`,
        `wechat_menu.conditional_delete ${appId}/208379533`,
        `wechat_menu.delete ${appId}`,
      ]),
    );
  });

  it("checks the menu against WeChat's rules first and maps 65303 (no default menu) to 422", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const path = `/v1/wechat/apps/${appId}/menu/conditional`;
    const tooLong = { button: [{ name: "一二三四五六", type: "click", key: "K" }], tag_id: 134 };
    await expectProblem(await tenant.api(path, postJson(tooLong)), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      pointers: ["/button/0/name"],
    });
    expect(calls).toEqual([]);
    answers.set("/cgi-bin/menu/addconditional", {
      errcode: 65303,
      errmsg: "there is no selfmenu, please create selfmenu first",
    });
    await expectProblem(await tenant.api(path, postJson({ ...menu, tag_id: 134 })), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /errcode 65303/,
    });
  });
});

describe("WeChat template library", () => {
  it("lists, adds from the library and deletes the account's templates", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const base = `/v1/wechat/apps/${appId}/templates`;
    answers.set("/cgi-bin/template/get_all_private_template", {
      template_list: [
        {
          template_id: "iPk5sOIt5X_flOVKn5GrTFpncEYTojx6ddbt8WYoV5s",
          title: "领取奖金提醒",
          primary_industry: "IT科技",
          deputy_industry: "互联网|电子商务",
          content: "{ {result.DATA} }\n\n领奖金额:{ {withdrawMoney.DATA} }\n",
          example: "您已提交领奖申请\n\n领奖金额：xxxx元\n",
        },
      ],
    });
    answers.set("/cgi-bin/template/api_add_template", {
      errcode: 0,
      errmsg: "ok",
      template_id: "Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk",
    });
    const listed = await tenant.api(base);
    expect(await listed.json()).toEqual({
      data: [
        {
          template_id: "iPk5sOIt5X_flOVKn5GrTFpncEYTojx6ddbt8WYoV5s",
          title: "领取奖金提醒",
          content: "{ {result.DATA} }\n\n领奖金额:{ {withdrawMoney.DATA} }\n",
          example: "您已提交领奖申请\n\n领奖金额：xxxx元\n",
          primary_industry: "IT科技",
          deputy_industry: "互联网|电子商务",
        },
      ],
      next_cursor: null,
    });
    const added = await tenant.api(
      base,
      postJson({ template_id_short: "TM00015", keyword_names: ["订单号", "金额"] }),
    );
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({
      template_id: "Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk",
    });
    const gone = await tenant.api(`${base}/Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk`, {
      method: "DELETE",
    });
    expect(gone.status).toBe(204);
    expect(calls).toEqual([
      { path: "/cgi-bin/template/get_all_private_template", query: {}, body: undefined },
      // The add counts the account's templates first (WeChat's limit of 25).
      { path: "/cgi-bin/template/get_all_private_template", query: {}, body: undefined },
      {
        path: "/cgi-bin/template/api_add_template",
        query: {},
        body: { template_id_short: "TM00015", keyword_name_list: ["订单号", "金额"] },
      },
      {
        path: "/cgi-bin/template/del_private_template",
        query: {},
        body: { template_id: "Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk" },
      },
    ]);
    expect(await actions(tenant)).toEqual(
      expect.arrayContaining([
        `wechat_template.add ${appId}/Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk`,
        `wechat_template.delete ${appId}/Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk`,
      ]),
    );
  });

  it("refuses a 26th template before asking WeChat to add it", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    answers.set("/cgi-bin/template/get_all_private_template", {
      template_list: Array.from({ length: 25 }, (_, n) => ({ template_id: `t${n}`, title: "x" })),
    });
    const path = `/v1/wechat/apps/${appId}/templates`;
    await expectProblem(await tenant.api(path, postJson({ template_id_short: "TM00015" })), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /already has 25 templates/,
    });
    expect(calls.map((c) => c.path)).toEqual(["/cgi-bin/template/get_all_private_template"]);
    expect(await actions(tenant)).not.toContain(expect.stringMatching(/^wechat_template\.add/));
  });

  it("maps WeChat's 45026 (25 templates already) to a 422", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    answers.set("/cgi-bin/template/api_add_template", {
      errcode: 45026,
      errmsg: "template num exceeds limit",
    });
    const path = `/v1/wechat/apps/${appId}/templates`;
    await expectProblem(await tenant.api(path, postJson({ template_id_short: "TM00015" })), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /errcode 45026 \(template num exceeds limit\)/,
    });
  });
});

describe("WeChat operations security", () => {
  it("keeps the operations to their permissions and to the app's own tenant", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const appId = await wechatApp(owner, "safe");
    const { key: reader } = await owner.addKey(["messages:read"]);
    const base = `/v1/wechat/apps/${appId}`;
    const operations: [string, RequestInit][] = [
      [`${base}/tags/134`, json("PATCH", { name: "x" })],
      [`${base}/tags/134`, { method: "DELETE" }],
      [`${base}/followers/oUserA/remark`, json("PUT", { remark: "x" })],
      [`${base}/blacklist`, {}],
      [`${base}/blacklist`, postJson({ openids: ["oUserA"] })],
      [`${base}/menu`, { method: "DELETE" }],
      [
        `${base}/menu/conditional`,
        postJson({ button: [{ name: "A", type: "click", key: "A" }], tag_id: 2 }),
      ],
      [`${base}/templates`, postJson({ template_id_short: "TM00015" })],
      [`${base}/jssdk-config?url=https%3A%2F%2Fa.example%2F`, {}],
    ];
    for (const [path, init] of operations) {
      const instance = path.split("?")[0] ?? path;
      await expectProblem(await call(path, reader, init), {
        status: 403,
        slug: "forbidden",
        instance,
      });
      await expectProblem(await other.api(path, init), {
        status: 404,
        slug: "not-found",
        instance,
      });
      await expectProblem(await call(path, null, init), {
        status: 401,
        slug: "unauthenticated",
        instance,
      });
    }
    expect(calls).toEqual([]);
  });
});
