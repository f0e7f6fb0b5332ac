/**
 * The WeChat sandbox's answers to the operations calls (issue 18): the blacklist, remarks,
 * conditional menus, the JS-SDK ticket, the template library, subscription notices, and an
 * account of any size (`followers_count`): functions over the WeChatSandbox object's storage,
 * called once the token is checked.
 */
import { OK, type WeChatAnswer, wechatRefusal } from "../../channels/wechat/sandbox-answers";
import { followerOf } from "./state";

/** WeChat's limits: 20 openids per blacklist call, 10,000 per getblacklist page. */
const BLACKLIST_BATCH = 20;
const PAGE = 10_000;
/** An account keeps at most 25 private templates. */
const MAX_TEMPLATES = 25;
const TICKET_SECONDS = 7200;
const FIRST_GENERATED = 4;

/** The template library the sandbox offers (template_id_short → the template). */
export const SANDBOX_LIBRARY: Readonly<Record<string, { title: string; content: string }>> = {
  OPENTM207498902: {
    title: "订单发货提醒",
    content:
      "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n快递公司：{{keyword2.DATA}}\n{{remark.DATA}}",
  },
  OPENTM411999701: {
    title: "预约成功通知",
    content:
      "{{first.DATA}}\n预约时间：{{keyword1.DATA}}\n预约地点：{{keyword2.DATA}}\n{{remark.DATA}}",
  },
};

export function migrateOperations(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS blacklist (openid TEXT PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS conditional_menus (
      menuid INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS jsapi_ticket (
      id INTEGER PRIMARY KEY CHECK (id = 1), ticket TEXT NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS private_templates (
      template_id TEXT PRIMARY KEY, short_id TEXT NOT NULL, title TEXT NOT NULL,
      content TEXT NOT NULL, added_at INTEGER NOT NULL);
  `);
}

/** The generated followers' openids: the starting three's format, numbered on from 4. */
export function generatedOpenid(n: number): string {
  return `oSandboxFollower${String(n).padStart(12, "0")}`;
}

/**
 * Makes the account `count` followers (at least the starting three): generated ones are added
 * (following, no remark) or removed from the end. One statement, so 50,000 take a moment.
 */
export function setFollowersCount(sql: SqlStorage, count: number, now: number): number {
  const target = Math.max(count, FIRST_GENERATED - 1);
  sql.exec(
    `DELETE FROM followers WHERE openid > ? AND openid LIKE 'oSandboxFollower%'`,
    generatedOpenid(target),
  );
  sql.exec(
    `WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT OR IGNORE INTO followers (openid, remark, following, subscribe_time, template_result)
     SELECT 'oSandboxFollower' || substr('000000000000' || i, -12), '', 1, ?, 'success' FROM n`,
    FIRST_GENERATED,
    target,
    Math.floor(now / 1000),
  );
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM followers WHERE following = 1").one().n;
}

export function changeBlacklist(sql: SqlStorage, openids: string[], add: boolean): WeChatAnswer {
  if (openids.length === 0 || openids.length > BLACKLIST_BATCH) {
    return wechatRefusal(40032);
  }
  if (openids.some((openid) => !followerOf(sql, openid))) {
    return wechatRefusal(40003);
  }
  for (const openid of openids) {
    sql.exec(
      add
        ? "INSERT OR IGNORE INTO blacklist (openid) VALUES (?)"
        : "DELETE FROM blacklist WHERE openid = ?",
      openid,
    );
  }
  return OK;
}

export function blacklistAfter(sql: SqlStorage, beginOpenid: string): WeChatAnswer {
  const total = sql.exec<{ n: number }>("SELECT count(*) AS n FROM blacklist").one().n;
  const page = sql
    .exec<{ openid: string }>(
      "SELECT openid FROM blacklist WHERE openid > ? ORDER BY openid LIMIT ?",
      beginOpenid,
      PAGE,
    )
    .toArray()
    .map((row) => row.openid);
  const last = page.at(-1);
  return last === undefined
    ? { total, count: 0, next_openid: "" }
    : { total, count: page.length, data: { openid: page }, next_openid: last };
}

export function setRemark(sql: SqlStorage, openid: string, remark: string): WeChatAnswer {
  if ([...remark].length >= 30) {
    return wechatRefusal(47001);
  }
  if (!followerOf(sql, openid)) {
    return wechatRefusal(40003);
  }
  sql.exec("UPDATE followers SET remark = ? WHERE openid = ?", remark, openid);
  return OK;
}

/** `/cgi-bin/menu/addconditional`: needs the default menu and a tag that exists. */
export function addConditionalMenu(
  sql: SqlStorage,
  menu: { button: unknown[]; matchrule: { tag_id?: string } },
): WeChatAnswer {
  if (sql.exec("SELECT 1 FROM menu").toArray().length === 0) {
    return wechatRefusal(65303);
  }
  const tagId = Number(menu.matchrule.tag_id);
  if (
    !Number.isInteger(tagId) ||
    sql.exec("SELECT 1 FROM tags WHERE id = ?", tagId).toArray().length === 0
  ) {
    return wechatRefusal(45159);
  }
  const row = sql
    .exec<{ menuid: number }>(
      "INSERT INTO conditional_menus (body) VALUES (?) RETURNING menuid",
      JSON.stringify(menu),
    )
    .one();
  return { menuid: String(row.menuid + 400_000_000) };
}

export function deleteConditionalMenu(sql: SqlStorage, menuId: string): WeChatAnswer {
  const id = Number(menuId) - 400_000_000;
  const gone = sql
    .exec("DELETE FROM conditional_menus WHERE menuid = ? RETURNING menuid", id)
    .toArray();
  return gone.length > 0 ? OK : wechatRefusal(65304);
}

export function jsapiTicket(sql: SqlStorage, now: number): WeChatAnswer {
  const row = sql
    .exec<{ ticket: string; expires_at: number }>("SELECT ticket, expires_at FROM jsapi_ticket")
    .toArray()[0];
  if (row && row.expires_at > now) {
    return { ...OK, ticket: row.ticket, expires_in: Math.floor((row.expires_at - now) / 1000) };
  }
  const random = crypto.getRandomValues(new Uint8Array(48));
  const ticket = btoa(String.fromCharCode(...random)).replace(/[+/=]/g, "");
  sql.exec(
    "INSERT OR REPLACE INTO jsapi_ticket (id, ticket, expires_at) VALUES (1, ?, ?)",
    ticket,
    now + TICKET_SECONDS * 1000,
  );
  return { ...OK, ticket, expires_in: TICKET_SECONDS };
}

export function listTemplates(sql: SqlStorage): WeChatAnswer {
  const rows = sql
    .exec<{ template_id: string; title: string; content: string }>(
      "SELECT template_id, title, content FROM private_templates ORDER BY added_at, template_id",
    )
    .toArray();
  return {
    template_list: rows.map((row) => ({
      template_id: row.template_id,
      title: row.title,
      primary_industry: "IT科技",
      deputy_industry: "互联网|电子商务",
      content: row.content,
      example: "",
    })),
  };
}

export function addTemplate(sql: SqlStorage, shortId: string, now: number): WeChatAnswer {
  const template = SANDBOX_LIBRARY[shortId];
  if (!template) {
    return wechatRefusal(40037);
  }
  const count = sql.exec<{ n: number }>("SELECT count(*) AS n FROM private_templates").one().n;
  if (count >= MAX_TEMPLATES) {
    return wechatRefusal(45026);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const templateId = btoa(String.fromCharCode(...bytes))
    .replace(/[+/=]/g, "")
    .slice(0, 43);
  sql.exec(
    "INSERT INTO private_templates (template_id, short_id, title, content, added_at) VALUES (?, ?, ?, ?, ?)",
    templateId,
    shortId,
    template.title,
    template.content,
    now,
  );
  return { ...OK, template_id: templateId };
}

export function deleteTemplate(sql: SqlStorage, templateId: string): WeChatAnswer {
  const gone = sql
    .exec("DELETE FROM private_templates WHERE template_id = ? RETURNING template_id", templateId)
    .toArray();
  return gone.length > 0 ? OK : wechatRefusal(40037);
}

/**
 * `/cgi-bin/message/subscribe/bizsend`: to a follower who accepted notices (the sandbox's
 * followers whose template messages fail have refused them: 43101).
 */
export function subscribeNoticeRefusal(
  sql: SqlStorage,
  message: { touser: string; template_id: string },
): WeChatAnswer | null {
  if (!message.template_id) {
    return wechatRefusal(40037);
  }
  const follower = followerOf(sql, message.touser);
  if (!follower) {
    return wechatRefusal(40003);
  }
  if (!follower.following || follower.template_result !== "success") {
    return wechatRefusal(43101);
  }
  return null;
}
