import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as sync from "../../services/wechat/follower-sync";
import * as followers from "../../services/wechat/followers";
import { iso } from "../common";
import { once } from "../once";
import type * as routes from "./wechat-followers.routes";

export const syncFollowers: RouteHandler<typeof routes.syncFollowers, AppEnv> = async (c) => {
  const job = await sync.startFollowerSync(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json(presentSync(job), 202);
};

export const getFollowerSync: RouteHandler<typeof routes.getFollowerSync, AppEnv> = async (c) => {
  const { app_id, job_id } = c.req.valid("param");
  return c.json(
    presentSync(await sync.getFollowerSync(c.env, c.get("caller"), app_id, job_id)),
    200,
  );
};

export const listFollowerSyncs: RouteHandler<typeof routes.listFollowerSyncs, AppEnv> = async (
  c,
) => {
  const jobs = await sync.listFollowerSyncs(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json({ data: jobs.map(presentSync), next_cursor: null }, 200);
};

function presentSync(job: sync.FollowerSyncRow) {
  return {
    id: job.id,
    app_id: job.appId,
    status: job.status,
    fetched: job.fetched,
    total: job.total,
    pages: job.pages,
    error: job.error,
    started_at: new Date(job.startedAt).toISOString(),
    finished_at: iso(job.finishedAt),
  };
}

export const listFollowers: RouteHandler<typeof routes.listFollowers, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  const page = await followers.listFollowers(c.env, c.get("caller"), c.req.valid("param").app_id, {
    following: query.following,
    tagId: query.tag_id,
    limit: query.limit,
    cursor: query.cursor,
  });
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const listTags: RouteHandler<typeof routes.listTags, AppEnv> = async (c) => {
  const tags = await followers.listTags(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json({ data: tags, next_cursor: null }, 200);
};

export const createTag: RouteHandler<typeof routes.createTag, AppEnv> = async (c) => {
  const { app_id } = c.req.valid("param");
  const input = c.req.valid("json");
  const { body } = await once(c, `POST /v1/wechat/apps/${app_id}/tags`, input, async () => ({
    status: 201,
    body: await followers.createTag(c.env, c.get("caller"), app_id, input.name),
  }));
  return c.json(body, 201);
};

export const tagMembers: RouteHandler<typeof routes.tagMembers, AppEnv> = async (c) => {
  const { app_id, tag_id } = c.req.valid("param");
  const done = await followers.changeTagMembers(c.env, c.get("caller"), app_id, {
    tagId: tag_id,
    openids: c.req.valid("json").openids,
    action: "tag",
  });
  return c.json({ tag_id, ...done }, 200);
};

export const untagMembers: RouteHandler<typeof routes.untagMembers, AppEnv> = async (c) => {
  const { app_id, tag_id } = c.req.valid("param");
  const done = await followers.changeTagMembers(c.env, c.get("caller"), app_id, {
    tagId: tag_id,
    openids: c.req.valid("json").openids,
    action: "untag",
  });
  return c.json({ tag_id, ...done }, 200);
};

function present(row: followers.FollowerRow) {
  return {
    openid: row.openid,
    following: row.following,
    tag_ids: row.tagIds,
    info: row.info ?? null,
    last_interaction_at: iso(row.lastInteractionAt),
    subscribed_at: iso(row.subscribedAt),
    unsubscribed_at: iso(row.unsubscribedAt),
  };
}
