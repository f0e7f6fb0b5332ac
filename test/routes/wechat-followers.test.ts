import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { wechatApp } from "../support/wechat";
import { syncFollowersJob } from "../support/wechat-sync";

const WECHAT = "https://api.weixin.qq.com";

interface WeChatCall {
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/**
 * A fake WeChat: the token endpoint hands out `token-1`; `user/get` pages through `followers`
 * `pageSize` at a time and, like WeChat, repeats the last openid as `next_openid`; `batchget`
 * answers with each user's info; the tag endpoints answer `ok`. `refusals` makes a path answer
 * with an errcode instead.
 */
let followers: string[];
let pageSize: number;
let totalAhead: number;
let tagsOf: Map<string, number[]>;
let refusals: Map<string, Record<string, unknown>>;
const calls: WeChatCall[] = [];
beforeEach(() => {
  followers = Array.from({ length: 250 }, (_, i) => `oUser${String(i).padStart(3, "0")}`);
  pageSize = 150;
  totalAhead = 0;
  tagsOf = new Map([
    ["oUser001", [2]],
    ["oUser002", [2, 100]],
  ]);
  refusals = new Map();
  calls.length = 0;
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
    const body: unknown = text ? JSON.parse(text) : undefined;
    calls.push({ path: url.pathname, query, body });
    const refusal = refusals.get(url.pathname);
    if (refusal) {
      return Response.json(refusal);
    }
    return Response.json(answer(url.pathname, query, body));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function answer(path: string, query: Record<string, string>, body: unknown): unknown {
  if (path === "/cgi-bin/user/get") {
    const start = query.next_openid ? followers.indexOf(query.next_openid) + 1 : 0;
    const page = followers.slice(start, start + pageSize);
    const total = followers.length + totalAhead;
    return page.length === 0
      ? { total, count: 0, next_openid: "" }
      : {
          total,
          count: page.length,
          data: { openid: page },
          next_openid: page.at(-1),
        };
  }
  if (path === "/cgi-bin/user/info/batchget") {
    const { user_list } = body as { user_list: { openid: string }[] };
    return {
      user_info_list: user_list.map(({ openid }) => ({
        subscribe: 1,
        openid,
        language: "zh_CN",
        subscribe_time: 1700000000,
        remark: "",
        tagid_list: tagsOf.get(openid) ?? [],
        subscribe_scene: "ADD_SCENE_QR_CODE",
      })),
    };
  }
  if (path === "/cgi-bin/tags/get") {
    return {
      tags: [
        { id: 2, name: "星标组", count: 2 },
        { id: 134, name: "北京", count: 0 },
      ],
    };
  }
  if (path === "/cgi-bin/tags/create") {
    return { tag: { id: 134, name: (body as { tag: { name: string } }).tag.name } };
  }
  return { errcode: 0, errmsg: "ok" };
}

const callsTo = (path: string) => calls.filter((c) => c.path === path);

async function seedFollower(
  tenant: TestTenant,
  appId: string,
  openid: string,
  row: { lastInteractionAt?: number; tagIds?: number[] } = {},
): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO wechat_followers (app_id, openid, tenant_id, following, tag_ids,
       last_interaction_at, subscribed_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?)`,
  )
    .bind(
      appId,
      openid,
      tenant.id,
      JSON.stringify(row.tagIds ?? []),
      row.lastInteractionAt ?? null,
      1600000000000,
      Date.now() - 60_000,
    )
    .run();
}

interface FollowerRecord {
  openid: string;
  following: number;
  tag_ids: string;
  info: string | null;
  last_interaction_at: number | null;
  subscribed_at: number | null;
  unsubscribed_at: number | null;
}

async function rowOf(appId: string, openid: string): Promise<FollowerRecord | null> {
  return env.DB.prepare("SELECT * FROM wechat_followers WHERE app_id = ? AND openid = ?")
    .bind(appId, openid)
    .first<FollowerRecord>();
}

async function synced(tenant: TestTenant): Promise<string> {
  const appId = await wechatApp(tenant, "safe");
  expect((await syncFollowersJob(tenant.api, appId)).status).toBe("done");
  calls.length = 0;
  return appId;
}

const members = (appId: string, tagId: number, openids: string[], method = "POST") =>
  ({
    path: `/v1/wechat/apps/${appId}/tags/${tagId}/members`,
    init: { method, body: JSON.stringify({ openids }) },
  }) as const;

describe("WeChat follower sync", () => {
  it("pages through the list, fetches info 100 at a time and marks an unlisted follower unfollowed", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await seedFollower(tenant, appId, "oGone", { lastInteractionAt: 1690000000000 });
    await seedFollower(tenant, appId, "oUser001", { lastInteractionAt: 1690000000000 });

    const job = await syncFollowersJob(tenant.api, appId);
    expect(job).toMatchObject({ status: "done", fetched: 250, total: 250, pages: 2, error: null });

    expect(callsTo("/cgi-bin/user/get").map((c) => c.query)).toEqual([
      {},
      { next_openid: "oUser149" },
    ]);
    const batches = callsTo("/cgi-bin/user/info/batchget");
    // Each page's users, 100 at a time: the first page's 150, then the second's 100.
    expect(batches.map((c) => (c.body as { user_list: unknown[] }).user_list.length)).toEqual([
      100, 50, 100,
    ]);
    expect((batches[0]?.body as { user_list: unknown[] } | undefined)?.user_list[0]).toEqual({
      openid: "oUser000",
      lang: "zh_CN",
    });

    const counts = await env.DB.prepare(
      "SELECT following, COUNT(*) AS n FROM wechat_followers WHERE app_id = ? GROUP BY following ORDER BY following",
    )
      .bind(appId)
      .all<{ following: number; n: number }>();
    expect(counts.results).toEqual([
      { following: 0, n: 1 },
      { following: 1, n: 250 },
    ]);
    const gone = await rowOf(appId, "oGone");
    expect(gone?.following).toBe(0);
    expect(gone?.unsubscribed_at).toBeGreaterThan(Date.now() - 60_000);
    expect(gone?.last_interaction_at).toBe(1690000000000);

    const known = await rowOf(appId, "oUser001");
    expect(known).toMatchObject({
      following: 1,
      tag_ids: "[2]",
      last_interaction_at: 1690000000000,
      subscribed_at: 1700000000000,
    });
    expect(JSON.parse(known?.info ?? "null")).toMatchObject({
      openid: "oUser001",
      subscribe_scene: "ADD_SCENE_QR_CODE",
      tagid_list: [2],
    });
    expect(await rowOf(appId, "oUser249")).toMatchObject({ following: 1, tag_ids: "[]" });
  });

  it("stops at WeChat's empty page when the total is not reached", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    followers = followers.slice(0, 150);
    // Users who followed meanwhile: WeChat's total is ahead of its list.
    totalAhead = 3;
    const job = await syncFollowersJob(tenant.api, appId);
    expect(job).toMatchObject({ status: "done", fetched: 150, total: 153, pages: 2 });
    expect(callsTo("/cgi-bin/user/get").map((c) => c.query)).toEqual([
      {},
      { next_openid: "oUser149" },
    ]);
  });

  it("lists followers from the table, filtered by following and tag, a page at a time", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await seedFollower(tenant, appId, "oGone");
    followers = followers.slice(0, 5);
    await syncFollowersJob(tenant.api, appId);
    const { key } = await tenant.addKey(["messages:read"]);
    const base = `/v1/wechat/apps/${appId}/followers`;

    const unfollowed = await call(`${base}?following=false`, key);
    expect(unfollowed.status).toBe(200);
    const body = (await unfollowed.json()) as { data: Record<string, unknown>[] };
    expect(body).toEqual({
      data: [
        {
          openid: "oGone",
          following: false,
          tag_ids: [],
          info: null,
          last_interaction_at: null,
          subscribed_at: new Date(1600000000000).toISOString(),
          unsubscribed_at: expect.any(String),
        },
      ],
      next_cursor: null,
    });

    const tagged = (await (await call(`${base}?tag_id=2`, key)).json()) as {
      data: { openid: string; tag_ids: number[]; info: Record<string, unknown> }[];
    };
    expect(tagged.data.map((f) => [f.openid, f.tag_ids])).toEqual([
      ["oUser001", [2]],
      ["oUser002", [2, 100]],
    ]);
    expect(tagged.data[0]?.info).toMatchObject({ subscribe_time: 1700000000 });
    const tag100 = (await (await call(`${base}?tag_id=100&following=true`, key)).json()) as {
      data: { openid: string }[];
    };
    expect(tag100.data.map((f) => f.openid)).toEqual(["oUser002"]);

    const first = (await (await call(`${base}?following=true&limit=3`, key)).json()) as {
      data: { openid: string }[];
      next_cursor: string | null;
    };
    expect(first.data.map((f) => f.openid)).toEqual(["oUser000", "oUser001", "oUser002"]);
    expect(first.next_cursor).toBe("oUser002");
    const second = (await (
      await call(`${base}?following=true&limit=3&cursor=${first.next_cursor}`, key)
    ).json()) as { data: { openid: string }[]; next_cursor: string | null };
    expect(second).toMatchObject({ next_cursor: null });
    expect(second.data.map((f) => f.openid)).toEqual(["oUser003", "oUser004"]);
  });
});

describe("WeChat tags", () => {
  it("lists and creates tags at WeChat", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const created = await tenant.api(`/v1/wechat/apps/${appId}/tags`, postJson({ name: "北京" }));
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ id: 134, name: "北京" });
    const listed = await tenant.api(`/v1/wechat/apps/${appId}/tags`);
    expect(await listed.json()).toEqual({
      data: [
        { id: 2, name: "星标组", count: 2 },
        { id: 134, name: "北京", count: 0 },
      ],
      next_cursor: null,
    });
    expect(calls).toEqual([
      { path: "/cgi-bin/tags/create", query: {}, body: { tag: { name: "北京" } } },
      { path: "/cgi-bin/tags/get", query: {}, body: undefined },
    ]);
  });

  it("tags 120 users in 3 calls of at most 50 and adds the tag to their rows once", async () => {
    const tenant = await createTenant();
    const appId = await synced(tenant);
    const openids = followers.slice(0, 120);
    const tag = members(appId, 2, openids);
    const res = await tenant.api(tag.path, tag.init);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ tag_id: 2, openids: 120, batches: 3 });
    const sent = callsTo("/cgi-bin/tags/members/batchtagging");
    expect(sent.map((c) => c.body)).toEqual([
      { openid_list: openids.slice(0, 50), tagid: 2 },
      { openid_list: openids.slice(50, 100), tagid: 2 },
      { openid_list: openids.slice(100), tagid: 2 },
    ]);
    expect((await rowOf(appId, "oUser001"))?.tag_ids).toBe("[2]");
    expect((await rowOf(appId, "oUser002"))?.tag_ids).toBe("[2,100]");
    expect((await rowOf(appId, "oUser119"))?.tag_ids).toBe("[2]");
    expect((await rowOf(appId, "oUser120"))?.tag_ids).toBe("[]");

    const untag = members(appId, 2, openids.slice(0, 60), "DELETE");
    const undone = await tenant.api(untag.path, untag.init);
    expect(await undone.json()).toEqual({ tag_id: 2, openids: 60, batches: 2 });
    expect(callsTo("/cgi-bin/tags/members/batchuntagging").map((c) => c.body)).toEqual([
      { openid_list: openids.slice(0, 50), tagid: 2 },
      { openid_list: openids.slice(50, 60), tagid: 2 },
    ]);
    expect((await rowOf(appId, "oUser002"))?.tag_ids).toBe("[100]");
    expect((await rowOf(appId, "oUser059"))?.tag_ids).toBe("[]");
    expect((await rowOf(appId, "oUser060"))?.tag_ids).toBe("[2]");
  });
});

describe("WeChat follower and tag errors", () => {
  it("answers a bad name or openid list with 400, without calling WeChat", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const tags = `/v1/wechat/apps/${appId}/tags`;
    for (const name of ["", "   ", "x".repeat(31)]) {
      await expectProblem(await tenant.api(tags, postJson({ name })), {
        status: 400,
        slug: "validation-error",
        instance: tags,
        pointers: ["/name"],
      });
    }
    const tooMany = Array.from({ length: 1001 }, (_, i) => `o${i}`);
    for (const openids of [[], tooMany]) {
      const req = members(appId, 2, openids);
      await expectProblem(await tenant.api(req.path, req.init), {
        status: 400,
        slug: "validation-error",
        instance: req.path,
        pointers: ["/openids"],
      });
    }
    const bad = members(appId, 2, ["oUser000", "not an openid"]);
    await expectProblem(await tenant.api(bad.path, bad.init), {
      status: 400,
      slug: "validation-error",
      instance: bad.path,
      pointers: ["/openids/1"],
    });
    await expectProblem(
      await tenant.api(`/v1/wechat/apps/${appId}/followers?following=maybe&tag_id=x`),
      {
        status: 400,
        slug: "validation-error",
        instance: `/v1/wechat/apps/${appId}/followers`,
        pointers: ["/query/following", "/query/tag_id"],
      },
    );
    expect(calls).toEqual([]);
  });

  it("answers WeChat's refusal with 422 naming its errcode and errmsg", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const tags = `/v1/wechat/apps/${appId}/tags`;
    refusals.set("/cgi-bin/tags/create", { errcode: 45157, errmsg: "invalid tag name" });
    await expectProblem(await tenant.api(tags, postJson({ name: "北京" })), {
      status: 422,
      slug: "unprocessable-entity",
      instance: tags,
      detail: /^WeChat refused to create the tag: errcode 45157 \(invalid tag name\)/,
    });
    refusals.set("/cgi-bin/user/get", { errcode: 48001, errmsg: "api unauthorized" });
    const job = await syncFollowersJob(tenant.api, appId);
    expect(job).toMatchObject({ status: "failed", fetched: 0, pages: 0 });
    expect(job.error).toMatch(
      /^WeChat refused to list the followers: errcode 48001 \(api unauthorized\)/,
    );
  });

  it("retries a sync's page while WeChat is busy, marking no one unfollowed until it is done", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await seedFollower(tenant, appId, "oGone");
    refusals.set("/cgi-bin/user/info/batchget", { errcode: -1, errmsg: "system error" });
    const started = await tenant.api(`/v1/wechat/apps/${appId}/followers/sync`, { method: "POST" });
    const { id } = (await started.json()) as { id: string };
    await eventually(async () =>
      callsTo("/cgi-bin/user/info/batchget").length > 0 ? true : undefined,
    );
    const during = await tenant.api(`/v1/wechat/apps/${appId}/followers/sync/${id}`);
    expect(await during.json()).toMatchObject({ status: "running", fetched: 0, pages: 0 });
    expect((await rowOf(appId, "oGone"))?.following).toBe(1);
    refusals.delete("/cgi-bin/user/info/batchget");
    const done = await eventually(async () => {
      const job = (await (
        await tenant.api(`/v1/wechat/apps/${appId}/followers/sync/${id}`)
      ).json()) as {
        status: string;
        fetched: number;
      };
      return job.status === "done" ? job : undefined;
    }, 20_000);
    expect(done.fetched).toBe(250);
    expect((await rowOf(appId, "oGone"))?.following).toBe(0);

    vi.mocked(globalThis.fetch).mockRejectedValue(new TypeError("connection refused"));
    await expectProblem(await tenant.api(`/v1/wechat/apps/${appId}/tags`), {
      status: 503,
      slug: "provider-unavailable",
      instance: `/v1/wechat/apps/${appId}/tags`,
    });
  });
});

describe("WeChat follower and tag security", () => {
  it("keeps followers and tags to the right keys and to the app's own tenant", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const appId = await wechatApp(owner, "safe");
    const { key: reader } = await owner.addKey(["messages:read"]);
    const { key: sender } = await owner.addKey(["messages:send"]);
    const base = `/v1/wechat/apps/${appId}`;
    const tag = members(appId, 2, ["oUser000"]);
    const untag = members(appId, 2, ["oUser000"], "DELETE");
    const adminOnly: [string, RequestInit][] = [
      [`${base}/followers/sync`, { method: "POST" }],
      [`${base}/tags`, {}],
      [`${base}/tags`, postJson({ name: "北京" })],
      [tag.path, tag.init],
      [untag.path, untag.init],
    ];
    for (const [path, init] of adminOnly) {
      await expectProblem(await call(path, reader, init), {
        status: 403,
        slug: "forbidden",
        instance: path,
      });
    }
    await expectProblem(await call(`${base}/followers`, sender), {
      status: 403,
      slug: "forbidden",
      instance: `${base}/followers`,
    });
    for (const [path, init] of [...adminOnly, [`${base}/followers`, {}] as const]) {
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
    expect(calls).toEqual([]);
  });
});
