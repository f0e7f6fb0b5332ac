/**
 * What an operator changes on an account's followers and tags beside tagging: renaming and
 * deleting a tag, a follower's remark, and the blacklist. Each is WeChat's (the change is made
 * there first); the local `wechat_followers` rows follow WeChat's yes, and every change is
 * audited. WeChat's limits are checked before calling.
 */
import { and, eq, isNotNull, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { wechatFollowers } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getWeChatApp } from "./apps";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";

/** `/cgi-bin/tags/members/batchblacklist` and `batchunblacklist` take at most 20 openids a call. */
export const BLACKLIST_BATCH = 20;
/** WeChat's tags 0, 1 and 2 (星标组) are its own: they cannot be renamed or deleted (45058). */
const SYSTEM_TAG_MAX = 2;
/** A remark is shorter than 30 characters (WeChat's user/info/updateremark). */
export const MAX_REMARK_CHARS = 30;

/** Takes the deleted tag off this app's rows that have it. */
function dropTag(env: Env, tenantId: string, appId: string, tagId: number, now: number) {
  const tags = wechatFollowers.tagIds;
  return database(env.DB)
    .update(wechatFollowers)
    .set({
      updatedAt: now,
      tagIds: sql`(SELECT json_group_array(value) FROM json_each(${tags}) WHERE value <> ${tagId})`,
    })
    .where(
      and(
        eq(wechatFollowers.tenantId, tenantId),
        eq(wechatFollowers.appId, appId),
        sql`EXISTS (SELECT 1 FROM json_each(${tags}) WHERE value = ${tagId})`,
      ),
    );
}

/** The remark in the row's copy of WeChat's user info (rows without info wait for a sync). */
function keepRemark(
  env: Env,
  tenantId: string,
  appId: string,
  change: { openid: string; remark: string },
  now: number,
) {
  return database(env.DB)
    .update(wechatFollowers)
    .set({
      updatedAt: now,
      info: sql`json_set(${wechatFollowers.info}, '$.remark', ${change.remark})`,
    })
    .where(
      and(
        eq(wechatFollowers.tenantId, tenantId),
        eq(wechatFollowers.appId, appId),
        eq(wechatFollowers.openid, change.openid),
        isNotNull(wechatFollowers.info),
      ),
    );
}

function systemTag(tagId: number, action: string): void {
  if (tagId <= SYSTEM_TAG_MAX) {
    throw new ApiError(
      "unprocessable-entity",
      `Tag ${tagId} is WeChat's own: it cannot be ${action}.`,
    );
  }
}

export async function renameTag(
  env: Env,
  caller: Caller,
  appId: string,
  tag: { id: number; name: string },
  io?: WeChatClientIO,
): Promise<{ id: number; name: string }> {
  await getWeChatApp(env, caller, appId);
  systemTag(tag.id, "renamed");
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/tags/update",
    { method: "POST", body: { tag } },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "rename the tag");
  }
  await audited(
    env,
    caller,
    { action: "wechat_tag.update", target: `${appId}/${tag.id}`, diff: { name: { to: tag.name } } },
    [],
  );
  return tag;
}

/** Deletes the tag at WeChat (which takes it off its followers) and off the local rows. */
export async function deleteTag(
  env: Env,
  caller: Caller,
  appId: string,
  tagId: number,
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<void> {
  const app = await getWeChatApp(env, caller, appId);
  systemTag(tagId, "deleted");
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/tags/delete",
    { method: "POST", body: { tag: { id: tagId } } },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "delete the tag");
  }
  await audited(
    env,
    caller,
    { action: "wechat_tag.delete", target: `${appId}/${tagId}`, diff: diffOf({ id: tagId }, {}) },
    [dropTag(env, app.tenantId, appId, tagId, now)],
  );
}

export async function setRemark(
  env: Env,
  caller: Caller,
  appId: string,
  change: { openid: string; remark: string },
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<{ openid: string; remark: string }> {
  const app = await getWeChatApp(env, caller, appId);
  if ([...change.remark].length >= MAX_REMARK_CHARS) {
    throw new ApiError("unprocessable-entity", "WeChat keeps a remark under 30 characters.", {
      errors: [{ pointer: "/remark", detail: "under 30 characters" }],
    });
  }
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/user/info/updateremark",
    { method: "POST", body: { openid: change.openid, remark: change.remark } },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "set the remark");
  }
  await audited(
    env,
    caller,
    {
      action: "wechat_follower.remark",
      target: `${appId}/${change.openid}`,
      diff: { remark: { to: change.remark } },
    },
    [keepRemark(env, app.tenantId, appId, change, now)],
  );
  return change;
}

/**
 * Blacklists (or takes off the blacklist) users 20 at a time. A failure part-way leaves the
 * earlier batches done (and audited); sending the same list again is harmless.
 */
export async function changeBlacklist(
  env: Env,
  caller: Caller,
  appId: string,
  change: { openids: string[]; action: "add" | "remove" },
  io?: WeChatClientIO,
): Promise<{ openids: number; batches: number }> {
  await getWeChatApp(env, caller, appId);
  const openids = [...new Set(change.openids)];
  const path =
    change.action === "add"
      ? "/cgi-bin/tags/members/batchblacklist"
      : "/cgi-bin/tags/members/batchunblacklist";
  const record = (done: number) =>
    audited(
      env,
      caller,
      {
        action: `wechat_blacklist.${change.action}`,
        target: appId,
        diff: { openids: { to: openids.slice(0, done) } },
      },
      [],
    );
  let batches = 0;
  for (let start = 0; start < openids.length; start += BLACKLIST_BATCH) {
    const batch = openids.slice(start, start + BLACKLIST_BATCH);
    const answer = await callWeChat(
      env,
      appId,
      path,
      { method: "POST", body: { openid_list: batch } },
      io,
    );
    if (!answer.ok) {
      const done = batches * BLACKLIST_BATCH;
      if (done > 0) {
        await record(done);
      }
      const verb = change.action === "add" ? "blacklist" : "unblacklist";
      throw wechatProblem(answer.error, `${verb} the users (${done} done before)`);
    }
    batches += 1;
  }
  await record(openids.length);
  return { openids: openids.length, batches };
}

/** A page of the blacklist as WeChat has it (10,000 openids a page), after `beginOpenid`. */
export async function listBlacklist(
  env: Env,
  caller: Caller,
  appId: string,
  beginOpenid: string | undefined,
  io?: WeChatClientIO,
): Promise<{ total: number; openids: string[]; nextOpenid: string | null }> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/tags/members/getblacklist",
    { method: "POST", body: { begin_openid: beginOpenid ?? "" } },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "list the blacklist");
  }
  const page = answer.value;
  const data = page.data;
  const raw = typeof data === "object" && data !== null && "openid" in data ? data.openid : [];
  const openids = Array.isArray(raw) ? raw.filter((o): o is string => typeof o === "string") : [];
  const total = typeof page.total === "number" ? page.total : openids.length;
  const next = typeof page.next_openid === "string" ? page.next_openid : "";
  // WeChat repeats the last openid as next_openid; no next page once the list is empty.
  return { total, openids, nextOpenid: openids.length > 0 && next ? next : null };
}
