/**
 * An account's followers and tags. The webhook keeps `wechat_followers` current as users follow,
 * unfollow and interact; a follower sync (follower-sync.ts) rebuilds it from WeChat's own list. Tags are WeChat's: they
 * are read and changed there, and the local rows' `tag_ids` follow each successful change. Every
 * WeChat call goes through `callWeChat`, so through the app's token authority. Rows are the
 * tenant's (an app id can pass to another tenant once deleted): every statement names it.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { wechatFollowers } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { audited } from "../audit/audit-log";
import { getWeChatApp } from "./apps";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";

export type FollowerRow = typeof wechatFollowers.$inferSelect;

/** `/cgi-bin/user/info/batchget` takes at most 100 users per call (WeChat's limit). */
export const INFO_BATCH = 100;
/** `/cgi-bin/tags/members/batchtagging` and `batchuntagging` take at most 50 openids per call. */
export const TAGGING_BATCH = 50;

/**
 * One statement per batch of users: the rows travel as one JSON array in one bound parameter (D1
 * binds at most 100 per statement), as the send log does. The WHERE keeps SQLite from reading the
 * upsert's ON as a join constraint, and a sync still running as its app is deleted from writing
 * rows after it. A follow or unfollow the webhook applied after the sync started (a newer
 * `updated_at`) wins over the listing; `last_interaction_at` is left alone.
 */
export const UPSERT_LISTED = `INSERT INTO wechat_followers
    (app_id, openid, tenant_id, following, info, tag_ids, subscribed_at, updated_at)
  SELECT ?1, json_extract(value, '$[0]'), ?2, json_extract(value, '$[1]'),
    json_extract(value, '$[2]'), COALESCE(json_extract(value, '$[3]'), '[]'),
    json_extract(value, '$[4]'), ?3
  FROM json_each(?4)
  WHERE EXISTS (SELECT 1 FROM wechat_apps WHERE app_id = ?1 AND tenant_id = ?2)
  ON CONFLICT (tenant_id, app_id, openid) DO UPDATE SET
    following = CASE WHEN wechat_followers.updated_at > excluded.updated_at
      THEN wechat_followers.following ELSE excluded.following END,
    info = COALESCE(excluded.info, wechat_followers.info),
    tag_ids = CASE WHEN excluded.info IS NULL
      THEN wechat_followers.tag_ids ELSE excluded.tag_ids END,
    subscribed_at = COALESCE(excluded.subscribed_at, wechat_followers.subscribed_at),
    updated_at = MAX(wechat_followers.updated_at, excluded.updated_at)`;

/**
 * After a complete listing every listed row has `updated_at` ≥ the sync's start, so a following
 * row older than that was not listed: the user left while we were not told (or before the
 * webhook was set up). `unsubscribed_at` is when the sync noticed.
 */
export const MARK_UNLISTED = `UPDATE wechat_followers SET following = 0, unsubscribed_at = ?1, updated_at = ?1
  WHERE tenant_id = ?3 AND app_id = ?2 AND following = 1 AND updated_at < ?1`;

/** Adds tag ?2 to the openids ?4 (a JSON array) of app ?3 of tenant ?5, at ?1 (also qrcodes.ts). */
export const ADD_TAG = `UPDATE wechat_followers SET updated_at = ?1, tag_ids = (
    SELECT json_group_array(value) FROM (
      SELECT value FROM json_each(wechat_followers.tag_ids) UNION SELECT CAST(?2 AS INTEGER) ORDER BY 1))
  WHERE tenant_id = ?5 AND app_id = ?3 AND openid IN (SELECT value FROM json_each(?4))`;

const REMOVE_TAG = `UPDATE wechat_followers SET updated_at = ?1, tag_ids = (
    SELECT json_group_array(value) FROM json_each(wechat_followers.tag_ids) WHERE value <> CAST(?2 AS INTEGER))
  WHERE tenant_id = ?5 AND app_id = ?3 AND openid IN (SELECT value FROM json_each(?4))`;

/** [openid, following, info, tag_ids, subscribed_at], in UPSERT_LISTED's order. */
export function listedRow(openid: string, info: Record<string, unknown> | undefined): unknown[] {
  if (!info) {
    return [openid, 1, null, null, null];
  }
  const tagIds = Array.isArray(info.tagid_list)
    ? info.tagid_list.filter((id): id is number => typeof id === "number")
    : [];
  const subscribedAt = typeof info.subscribe_time === "number" ? info.subscribe_time * 1000 : null;
  // A user who left between the listing and the info call comes back with subscribe 0.
  return [openid, info.subscribe === 0 ? 0 : 1, info, tagIds, subscribedAt];
}

export interface FollowerFilter extends PageRequest {
  following?: boolean;
  tagId?: number;
}

/** This app's followers from the table, in openid order. */
export async function listFollowers(
  env: Env,
  caller: Caller,
  appId: string,
  filter: FollowerFilter,
): Promise<Page<FollowerRow>> {
  await getWeChatApp(env, caller, appId);
  const conditions: SQL[] = [
    eq(wechatFollowers.appId, appId),
    eq(wechatFollowers.tenantId, caller.tenant.id),
  ];
  if (filter.following !== undefined) {
    conditions.push(eq(wechatFollowers.following, filter.following));
  }
  if (filter.tagId !== undefined) {
    conditions.push(
      sql`EXISTS (SELECT 1 FROM json_each(${wechatFollowers.tagIds}) WHERE value = ${filter.tagId})`,
    );
  }
  const paging = keyset(wechatFollowers.openid, filter, "ascending");
  const rows = await database(env.DB)
    .select()
    .from(wechatFollowers)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, filter, (row) => row.openid);
}

export interface Tag {
  id: number;
  name: string;
  count: number;
}

/** The account's tags, as WeChat has them. */
export async function listTags(
  env: Env,
  caller: Caller,
  appId: string,
  io?: WeChatClientIO,
): Promise<Tag[]> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(env, appId, "/cgi-bin/tags/get", { method: "GET" }, io);
  if (!answer.ok) {
    throw wechatProblem(answer.error, "list the tags");
  }
  const tags = Array.isArray(answer.value.tags) ? answer.value.tags : [];
  return tags.filter(isRecord).map((tag) => ({
    id: Number(tag.id),
    name: String(tag.name ?? ""),
    count: typeof tag.count === "number" ? tag.count : 0,
  }));
}

export async function createTag(
  env: Env,
  caller: Caller,
  appId: string,
  name: string,
  io?: WeChatClientIO,
): Promise<{ id: number; name: string }> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/tags/create",
    { method: "POST", body: { tag: { name } } },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "create the tag");
  }
  const tag = isRecord(answer.value.tag) ? answer.value.tag : {};
  const created = { id: Number(tag.id), name: typeof tag.name === "string" ? tag.name : name };
  // Tags live at WeChat: the entry follows WeChat's yes, with nothing beside it in D1.
  await audited(
    env,
    caller,
    { action: "wechat_tag.create", target: `${appId}/${created.id}`, diff: diffOf({}, created) },
    [],
  );
  return created;
}

/**
 * Tags (or untags) users 50 at a time, and after each batch WeChat accepts, the local rows of
 * those users (users without a row get none). A failure part-way leaves the earlier batches done;
 * sending the same list again is harmless.
 */
export async function changeTagMembers(
  env: Env,
  caller: Caller,
  appId: string,
  change: { tagId: number; openids: string[]; action: "tag" | "untag" },
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<{ openids: number; batches: number }> {
  const app = await getWeChatApp(env, caller, appId);
  const openids = [...new Set(change.openids)];
  const path =
    change.action === "tag"
      ? "/cgi-bin/tags/members/batchtagging"
      : "/cgi-bin/tags/members/batchuntagging";
  const local = change.action === "tag" ? ADD_TAG : REMOVE_TAG;
  let batches = 0;
  // One entry for what WeChat accepted, also when it refuses a later batch.
  const record = (done: number) =>
    audited(
      env,
      caller,
      {
        action: `wechat_tag.${change.action}`,
        target: `${appId}/${change.tagId}`,
        diff: { openids: { to: openids.slice(0, done) } },
      },
      [],
    );
  for (let start = 0; start < openids.length; start += TAGGING_BATCH) {
    const batch = openids.slice(start, start + TAGGING_BATCH);
    const answer = await callWeChat(
      env,
      appId,
      path,
      { method: "POST", body: { openid_list: batch, tagid: change.tagId } },
      io,
    );
    if (!answer.ok) {
      const done = batches * TAGGING_BATCH;
      if (done > 0) {
        await record(done);
      }
      throw wechatProblem(answer.error, `${change.action} the users (${done} done before)`);
    }
    batches += 1;
    await env.DB.prepare(local)
      .bind(now, change.tagId, appId, JSON.stringify(batch), app.tenantId)
      .run();
  }
  await record(openids.length);
  return { openids: openids.length, batches };
}

export function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
