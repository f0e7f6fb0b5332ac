/**
 * The WeChat sandbox's tags, as WeChat's `/cgi-bin/tags/*` and `/cgi-bin/user/tag/get` answer:
 * functions over the WeChatSandbox object's storage, called once the token is checked.
 */
import { OK, type WeChatAnswer, wechatRefusal } from "../../channels/wechat/sandbox-answers";
import { followerOf, followingAfter, tagIdsOf } from "./state";

/** WeChat's own tags: 0 and 1 are hidden, 2 (星标组, starred) is listed. */
const SYSTEM_TAG_IDS: ReadonlySet<number> = new Set([0, 1, 2]);
/** WeChat numbers an account's own tags from 100, and allows 100 of them. */
const FIRST_TAG_ID = 100;
const MAX_TAGS = 100;
const MAX_TAG_NAME_BYTES = 30;
const MAX_OPENIDS = 50;

function tagExists(sql: SqlStorage, id: number): boolean {
  return sql.exec("SELECT 1 FROM tags WHERE id = ?", id).toArray().length > 0;
}

export function listTags(sql: SqlStorage): WeChatAnswer {
  const rows = sql
    .exec<{ id: number; name: string; count: number }>(
      `SELECT t.id, t.name, (SELECT count(*) FROM followers AS f, json_each(f.tag_ids) AS j
         WHERE j.value = t.id) AS count
       FROM tags AS t WHERE t.id > 1 ORDER BY t.id`,
    )
    .toArray();
  return { tags: rows.map((t) => ({ id: t.id, name: t.name, count: t.count })) };
}

export function createTag(sql: SqlStorage, name: string): WeChatAnswer {
  if (new TextEncoder().encode(name).length > MAX_TAG_NAME_BYTES) {
    return wechatRefusal(45158);
  }
  if (tagNamed(sql, name)) {
    return wechatRefusal(45157);
  }
  const existing = sql
    .exec<{ n: number; top: number | null }>(
      "SELECT count(*) AS n, max(id) AS top FROM tags WHERE id >= ?",
      FIRST_TAG_ID,
    )
    .one();
  if (existing.n >= MAX_TAGS) {
    return wechatRefusal(45056);
  }
  const id = Math.max(FIRST_TAG_ID, (existing.top ?? 0) + 1);
  sql.exec("INSERT INTO tags (id, name) VALUES (?, ?)", id, name);
  return { tag: { id, name } };
}

function tagNamed(sql: SqlStorage, name: string, besides = -1): boolean {
  return (
    sql.exec("SELECT 1 FROM tags WHERE name = ? AND id <> ?", name, besides).toArray().length > 0
  );
}

/** Renames the tag, or deletes it (`name` null) and takes it off every follower. */
export function changeTag(sql: SqlStorage, id: number, name: string | null): WeChatAnswer {
  if (SYSTEM_TAG_IDS.has(id)) {
    return wechatRefusal(45058);
  }
  if (!tagExists(sql, id)) {
    return wechatRefusal(45159);
  }
  if (name === null) {
    sql.exec("DELETE FROM tags WHERE id = ?", id);
    sql.exec(
      `UPDATE followers SET tag_ids = (SELECT json_group_array(value) FROM json_each(tag_ids)
         WHERE value <> ?)`,
      id,
    );
    return OK;
  }
  if (tagNamed(sql, name, id)) {
    return wechatRefusal(45157);
  }
  sql.exec("UPDATE tags SET name = ? WHERE id = ?", name, id);
  return OK;
}

/** Tags (`tag`) or untags the followers: all of them, or none when one is unknown. */
export function tagMembers(
  sql: SqlStorage,
  tagId: number,
  openids: string[],
  tag: boolean,
): WeChatAnswer {
  if (openids.length === 0 || openids.length > MAX_OPENIDS) {
    return wechatRefusal(40032);
  }
  if (!tagExists(sql, tagId)) {
    return wechatRefusal(45159);
  }
  const followers = openids.map((openid) => followerOf(sql, openid));
  if (followers.some((f) => f === undefined)) {
    return wechatRefusal(40003);
  }
  for (const follower of followers) {
    if (follower) {
      const others = tagIdsOf(follower).filter((id) => id !== tagId);
      const ids = tag ? [...others, tagId].sort((a, b) => a - b) : others;
      sql.exec(
        "UPDATE followers SET tag_ids = ? WHERE openid = ?",
        JSON.stringify(ids),
        follower.openid,
      );
    }
  }
  return OK;
}

export function tagsOf(sql: SqlStorage, openid: string): WeChatAnswer {
  const follower = followerOf(sql, openid);
  return follower ? { tagid_list: tagIdsOf(follower) } : wechatRefusal(40003);
}

/** The tag's followers after `nextOpenid`; WeChat's pages (10,000) hold them all. */
export function tagFollowers(sql: SqlStorage, tagId: number, nextOpenid: string): WeChatAnswer {
  if (!tagExists(sql, tagId)) {
    return wechatRefusal(45159);
  }
  const page = followingAfter(sql, nextOpenid, tagId);
  const last = page.at(-1);
  return last === undefined
    ? { count: 0, next_openid: "" }
    : { count: page.length, data: { openid: page }, next_openid: last };
}
