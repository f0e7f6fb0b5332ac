/**
 * The follower sync as a queue-driven job: 50,000 followers (WeChat's answers generated) read a
 * page of 10,000 per queue message, user info in calls of 100, progress on the job, counts right;
 * and a page delivered twice counts once.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FollowerSyncPage } from "../../src/delivery/payloads";
import { consumeFollowerSync } from "../../src/services/wechat/follower-sync";
import { createTenant, eventually, type TestTenant } from "../support/tenants";
import { wechatApp } from "../support/wechat";
import type { SyncJob } from "../support/wechat-sync";

const WECHAT = "https://api.weixin.qq.com";
const FOLLOWERS = 50_000;
const PAGE = 10_000;
const openidOf = (i: number) => `oFan${String(i).padStart(6, "0")}`;

let listings: string[];
let batchSizes: number[];
let progress: number[];
beforeEach(() => {
  listings = [];
  batchSizes = [];
  progress = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== WECHAT) {
      throw new Error(`unexpected fetch ${url.origin}`);
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    if (url.pathname === "/cgi-bin/user/get") {
      const next = url.searchParams.get("next_openid") ?? "";
      listings.push(next);
      const start = next ? Number(next.slice(4)) + 1 : 0;
      const openids = Array.from({ length: Math.min(PAGE, FOLLOWERS - start) }, (_, i) =>
        openidOf(start + i),
      );
      return Response.json(
        openids.length === 0
          ? { total: FOLLOWERS, count: 0, next_openid: "" }
          : {
              total: FOLLOWERS,
              count: openids.length,
              data: { openid: openids },
              next_openid: openids.at(-1),
            },
      );
    }
    if (url.pathname === "/cgi-bin/user/info/batchget") {
      const { user_list } = (await request.json()) as { user_list: { openid: string }[] };
      batchSizes.push(user_list.length);
      return Response.json({
        user_info_list: user_list.map(({ openid }) => ({
          subscribe: 1,
          openid,
          subscribe_time: 1700000000,
          remark: "",
          tagid_list: Number(openid.slice(4)) % 10 === 0 ? [2] : [],
        })),
      });
    }
    throw new Error(`unexpected WeChat call ${url.pathname}`);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function jobOf(tenant: TestTenant, appId: string, id: string): Promise<SyncJob> {
  return (await (
    await tenant.api(`/v1/wechat/apps/${appId}/followers/sync/${id}`)
  ).json()) as SyncJob;
}

describe("a follower sync through the queue", () => {
  it("syncs 50,000 followers a page of 10,000 per message, with progress, to done", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await env.DB.prepare(
      `INSERT INTO wechat_followers (app_id, openid, tenant_id, following, tag_ids, updated_at)
       VALUES (?, 'oLeftLongAgo', ?, 1, '[]', 0)`,
    )
      .bind(appId, tenant.id)
      .run();

    const started = await tenant.api(`/v1/wechat/apps/${appId}/followers/sync`, { method: "POST" });
    expect(started.status).toBe(202);
    const job = (await started.json()) as SyncJob;
    expect(job).toMatchObject({ status: "running", fetched: 0, total: null, pages: 0 });
    expect(job.id).toMatch(/^fsy_/);
    // A second sync while this one runs is refused.
    expect(
      (await tenant.api(`/v1/wechat/apps/${appId}/followers/sync`, { method: "POST" })).status,
    ).toBe(409);

    const done = await eventually(
      async () => {
        const current = await jobOf(tenant, appId, job.id);
        if (progress.at(-1) !== current.fetched) {
          progress.push(current.fetched);
        }
        return current.status === "running" ? undefined : current;
      },
      60_000,
      "the sync to finish",
    );
    expect(done).toMatchObject({
      status: "done",
      fetched: FOLLOWERS,
      total: FOLLOWERS,
      pages: 5,
      error: null,
    });
    expect(done.finished_at).not.toBeNull();
    // Progress only grows, a page at a time.
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.every((n) => n % PAGE === 0)).toBe(true);

    expect(listings).toEqual([
      "",
      openidOf(9_999),
      openidOf(19_999),
      openidOf(29_999),
      openidOf(39_999),
    ]);
    expect(batchSizes).toHaveLength(FOLLOWERS / 100);
    expect(batchSizes.every((n) => n === 100)).toBe(true);

    const counts = await env.DB.prepare(
      `SELECT following, COUNT(*) AS n, SUM(EXISTS (SELECT 1 FROM json_each(tag_ids) WHERE value = 2)) AS starred
       FROM wechat_followers WHERE app_id = ? GROUP BY following ORDER BY following`,
    )
      .bind(appId)
      .all<{ following: number; n: number; starred: number }>();
    expect(counts.results).toEqual([
      { following: 0, n: 1, starred: 0 },
      { following: 1, n: FOLLOWERS, starred: FOLLOWERS / 10 },
    ]);
    const list = await tenant.api(`/v1/wechat/apps/${appId}/followers/sync`);
    expect(((await list.json()) as { data: SyncJob[] }).data.map((j) => j.id)).toEqual([job.id]);
    // Its wait above allows 60 s; vitest's default 5 s is too short for 500 queue messages on a
    // loaded machine.
  }, 90_000);

  it("counts a page delivered twice once", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO wechat_follower_syncs (id, tenant_id, app_id, status, fetched, pages, started_at, updated_at)
       VALUES ('fsy_twice', ?, ?, 'running', 0, 0, ?, ?)`,
    )
      .bind(tenant.id, appId, now, now)
      .run();
    const page: FollowerSyncPage = {
      v: 1,
      job_id: "fsy_twice",
      tenant_id: tenant.id,
      app_id: appId,
      page: 0,
      next_openid: "",
    };
    const send = vi.spyOn(env.WECHAT_SYNC_QUEUE, "send").mockResolvedValue(undefined as never);
    for (const attempt of [1, 2]) {
      const batch = createMessageBatch<FollowerSyncPage>("relaybox-wechat-sync", [
        { id: `m-${attempt}`, timestamp: new Date(), attempts: attempt, body: page },
      ]);
      const ctx = createExecutionContext();
      await consumeFollowerSync(batch as MessageBatch<unknown>, env);
      expect(await getQueueResult(batch, ctx)).toMatchObject({ explicitAcks: [`m-${attempt}`] });
    }
    expect(listings).toEqual([""]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(send.mock.calls[0]?.[0]).toEqual({ ...page, page: 1, next_openid: openidOf(9_999) });
    expect(await jobOf(tenant, appId, "fsy_twice")).toMatchObject({ fetched: PAGE, pages: 1 });
  });
});
