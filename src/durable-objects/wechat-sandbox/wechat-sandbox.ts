/**
 * WeChatSandbox: WeChat's side of one Official Account in the local sandbox
 * (`idFromName("wechat-sandbox:" + appId)`), which exists only where WECHAT_SANDBOX_ENABLED is on.
 *
 * Receives: from the sandbox's routes (routes/wechat-sandbox), WeChat API calls already matched
 * to a method and their bodies checked, each with its access token; and the messages a follower
 * sends (POST /v1/sandbox/wechat/{app_id}/messages), to open their customer-service window.
 * Guarantees: WeChat's answer shapes and errcodes (40001 for a token it never gave or a replaced
 * one, 42001 for an expired one, 40003 for a user it does not know, 45015 outside the window...);
 * a token from stable_token is the same until its last 5 minutes or a forced refresh, one from
 * the classic endpoint is new each time, the one before it lasting 5 more minutes.
 * Never: calls anything itself; the routes post the events WeChat would (template job results).
 */
import { DurableObject } from "cloudflare:workers";
import {
  type MassJob,
  OK,
  type ReceivedMessage,
  type TemplateJob,
  type WeChatAnswer,
  wechatRefusal,
} from "../../channels/wechat/sandbox-answers";
import * as mass from "./mass";
import * as ops from "./operations";
import * as sns from "./sns";
import { followerOf, followingAfter, migrateSandbox, nextMsgId, tagIdsOf } from "./state";
import * as tags from "./tags";

const TOKEN_SECONDS = 7200;
/** stable_token hands out a new token only in its last 5 minutes; old tokens last 5 minutes more. */
const OVERLAP_MS = 5 * 60_000;
const WINDOW_MS = 48 * 60 * 60_000;
const RECEIVED_KINDS: readonly ReceivedMessage["kind"][] = [
  "template",
  "customer_service",
  "mass",
  "mass_preview",
  "subscribe_notice",
];
const CUSTOM_TYPES = new Set(["text", "image", "voice", "video", "music", "news", "mpnews"]);

export class WeChatSandbox extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateSandbox(this.sql, Date.now());
    sns.migrateSns(this.sql);
    ops.migrateOperations(this.sql);
  }

  /** The authorize page: a code for `openid` (one of the followers), or WeChat's refusal. */
  issueOAuthCode(openid: string, scope: string): string {
    return JSON.stringify(sns.issueCode(this.sql, openid, scope, Date.now()));
  }

  /** `/sns/oauth2/access_token`, the app id and secret already checked. */
  exchangeOAuthCode(appId: string, code: string): string {
    return JSON.stringify(sns.exchangeCode(this.sql, appId, code, Date.now()));
  }

  /** `/sns/userinfo`. */
  oauthUserInfo(token: string, openid: string): string {
    return JSON.stringify(sns.snsUserInfo(this.sql, token, openid, Date.now()));
  }

  /** The followers with their remarks, for the authorize page. */
  followerNames(): { openid: string; remark: string }[] {
    return this.sql
      .exec<{ openid: string; remark: string }>(
        "SELECT openid, remark FROM followers WHERE following = 1 ORDER BY openid",
      )
      .toArray()
      .map((row) => ({ openid: row.openid, remark: row.remark }));
  }

  /** The sandbox's setting: the account has `count` followers (generated past the first three). */
  setFollowersCount(count: number): number {
    return ops.setFollowersCount(this.sql, count, Date.now());
  }

  /** `/cgi-bin/tags/members/batchblacklist` (`add`) and `batchunblacklist`: up to 20 openids. */
  changeBlacklist(token: string, openids: string[], add: boolean): string {
    return this.authorized(token, () => ops.changeBlacklist(this.sql, openids, add));
  }

  /** `/cgi-bin/tags/members/getblacklist`. */
  blacklist(token: string, beginOpenid: string): string {
    return this.authorized(token, () => ops.blacklistAfter(this.sql, beginOpenid));
  }

  /** `/cgi-bin/user/info/updateremark`. */
  setRemark(token: string, openid: string, remark: string): string {
    return this.authorized(token, () => ops.setRemark(this.sql, openid, remark));
  }

  /** `/cgi-bin/menu/addconditional`. */
  addConditionalMenu(
    token: string,
    menu: { button: unknown[]; matchrule: { tag_id?: string } },
  ): string {
    return this.authorized(token, () => ops.addConditionalMenu(this.sql, menu));
  }

  /** `/cgi-bin/menu/delconditional`. */
  deleteConditionalMenu(token: string, menuId: string): string {
    return this.authorized(token, () => ops.deleteConditionalMenu(this.sql, menuId));
  }

  /** `/cgi-bin/ticket/getticket?type=jsapi`: the same ticket until it expires. */
  jsapiTicket(token: string): string {
    return this.authorized(token, () => ops.jsapiTicket(this.sql, Date.now()));
  }

  /** `/cgi-bin/template/get_all_private_template`. */
  listTemplates(token: string): string {
    return this.authorized(token, () => ops.listTemplates(this.sql));
  }

  /** `/cgi-bin/template/api_add_template`, from the sandbox's small library. */
  addTemplate(token: string, shortId: string): string {
    return this.authorized(token, () => ops.addTemplate(this.sql, shortId, Date.now()));
  }

  /** `/cgi-bin/template/del_private_template`. */
  deleteTemplate(token: string, templateId: string): string {
    return this.authorized(token, () => ops.deleteTemplate(this.sql, templateId));
  }

  /** `/cgi-bin/message/subscribe/bizsend`: kept as received, like a template message. */
  sendSubscribeNotice(
    token: string,
    message: { touser: string; template_id: string; [field: string]: unknown },
  ): string {
    return this.authorized(token, () => {
      const refusal = ops.subscribeNoticeRefusal(this.sql, message);
      if (refusal) {
        return refusal;
      }
      this.keep("subscribe_notice", null, message);
      return OK;
    });
  }

  /** `/cgi-bin/stable_token` (`classic` false) or `/cgi-bin/token`, the secret already checked. */
  issueToken(appId: string, request: { classic: boolean; force: boolean }): string {
    const now = Date.now();
    this.sql.exec("DELETE FROM tokens WHERE expires_at < ?", now - 24 * 60 * 60_000);
    const current = this.sql
      .exec<{ token: string; expires_at: number }>(
        "SELECT token, expires_at FROM tokens WHERE expires_at > ? ORDER BY issued_at DESC LIMIT 1",
        now,
      )
      .toArray()[0];
    if (!request.classic && !request.force && current && current.expires_at - now > OVERLAP_MS) {
      return JSON.stringify({
        access_token: current.token,
        expires_in: Math.floor((current.expires_at - now) / 1000),
      });
    }
    if (request.force) {
      // WeChat: a forced refresh makes the tokens before it invalid at once (40001).
      this.sql.exec("DELETE FROM tokens");
    } else {
      this.sql.exec(
        "UPDATE tokens SET expires_at = MIN(expires_at, ?) WHERE expires_at > ?",
        now + OVERLAP_MS,
        now,
      );
    }
    const random = crypto.getRandomValues(new Uint8Array(32));
    const token = `${appId}.${btoa(String.fromCharCode(...random)).replace(/[+/=]/g, "")}`;
    this.sql.exec(
      "INSERT INTO tokens (token, issued_at, expires_at) VALUES (?, ?, ?)",
      token,
      now,
      now + TOKEN_SECONDS * 1000,
    );
    return JSON.stringify({ access_token: token, expires_in: TOKEN_SECONDS });
  }

  /** A follower sent a message: their window opens. Null for someone who does not follow. */
  followerSpoke(openid: string): { msgId: string } | null {
    const follower = followerOf(this.sql, openid);
    if (!follower?.following) {
      return null;
    }
    const now = Date.now();
    this.sql.exec("UPDATE followers SET last_message_at = ? WHERE openid = ?", now, openid);
    return { msgId: String(nextMsgId(this.sql, now)) };
  }

  /** Who follows the account (the first ten), for the sandbox's own refusals. */
  followers(): string[] {
    return followingAfter(this.sql, "").slice(0, 10);
  }

  /** `/cgi-bin/user/get`: 10,000 openids a page, WeChat's last openid as next_openid. */
  listFollowers(token: string, nextOpenid: string): string {
    return this.authorized(token, () => {
      const total = this.sql
        .exec<{ n: number }>("SELECT count(*) AS n FROM followers WHERE following = 1")
        .one().n;
      const page = followingAfter(this.sql, nextOpenid);
      const last = page.at(-1);
      return last === undefined
        ? { total, count: 0, next_openid: "" }
        : { total, count: page.length, data: { openid: page }, next_openid: last };
    });
  }

  /** `/cgi-bin/user/info` (one openid) and `/cgi-bin/user/info/batchget` (up to 100). */
  userInfo(token: string, openids: string[], batch: boolean): string {
    return this.authorized(token, () => {
      const infos: WeChatAnswer[] = [];
      for (const openid of openids) {
        const follower = followerOf(this.sql, openid);
        if (!follower) {
          return wechatRefusal(40003);
        }
        infos.push(
          follower.following
            ? {
                subscribe: 1,
                openid,
                language: "zh_CN",
                subscribe_time: follower.subscribe_time,
                remark: follower.remark,
                groupid: 0,
                tagid_list: tagIdsOf(follower),
                subscribe_scene: "ADD_SCENE_QR_CODE",
                qr_scene: 0,
                qr_scene_str: "",
              }
            : { subscribe: 0, openid, tagid_list: [] },
        );
      }
      return batch ? { user_info_list: infos } : (infos[0] ?? wechatRefusal(40003));
    });
  }

  /** `/cgi-bin/tags/get`: every tag with its number of followers. */
  listTags(token: string): string {
    return this.authorized(token, () => tags.listTags(this.sql));
  }

  /** `/cgi-bin/tags/create`. */
  createTag(token: string, name: string): string {
    return this.authorized(token, () => tags.createTag(this.sql, name));
  }

  /** `/cgi-bin/tags/update` and `/cgi-bin/tags/delete` (`name` null). */
  changeTag(token: string, id: number, name: string | null): string {
    return this.authorized(token, () => tags.changeTag(this.sql, id, name));
  }

  /** `/cgi-bin/tags/members/batchtagging` (`tag`) and `batchuntagging`: up to 50 openids. */
  tagMembers(token: string, tagId: number, openids: string[], tag: boolean): string {
    return this.authorized(token, () => tags.tagMembers(this.sql, tagId, openids, tag));
  }

  /** `/cgi-bin/tags/getidlist`: a follower's tags. */
  tagsOf(token: string, openid: string): string {
    return this.authorized(token, () => tags.tagsOf(this.sql, openid));
  }

  /** `/cgi-bin/user/tag/get`: a tag's followers after `nextOpenid`. */
  tagFollowers(token: string, tagId: number, nextOpenid: string): string {
    return this.authorized(token, () => tags.tagFollowers(this.sql, tagId, nextOpenid));
  }

  /** `/cgi-bin/menu/create` (the body checked by the route), `get` (`menu` undefined), `delete` (null). */
  menu(token: string, menu?: { button: unknown[] } | null): string {
    return this.authorized(token, () => {
      if (menu === null) {
        // WeChat's menu/delete takes the conditional menus with it.
        this.sql.exec("DELETE FROM menu");
        this.sql.exec("DELETE FROM conditional_menus");
        return OK;
      }
      if (menu !== undefined) {
        this.sql.exec("INSERT OR REPLACE INTO menu (id, body) VALUES (1, ?)", JSON.stringify(menu));
        return OK;
      }
      const row = this.sql.exec<{ body: string }>("SELECT body FROM menu").toArray()[0];
      return row ? { menu: withSubButtonLists(JSON.parse(row.body)) } : wechatRefusal(46003);
    });
  }

  /** `/cgi-bin/message/template/send`; the job's result is for the route to push. */
  sendTemplate(
    token: string,
    message: { touser: string; template_id: string; [field: string]: unknown },
  ): { answer: string; job?: TemplateJob } {
    let job: TemplateJob | undefined;
    const answer = this.authorized(token, () => {
      const follower = followerOf(this.sql, message.touser);
      if (!follower) {
        return wechatRefusal(40003);
      }
      if (!follower.following) {
        return wechatRefusal(43004);
      }
      if (!message.template_id) {
        return wechatRefusal(40037);
      }
      const msgId = nextMsgId(this.sql, Date.now());
      this.keep("template", String(msgId), message);
      job = { openid: follower.openid, msgId, status: follower.template_result };
      return { ...OK, msgid: msgId };
    });
    return { answer, job };
  }

  /** `/cgi-bin/message/custom/send`: within 48 hours of the follower's last message. */
  sendCustom(
    token: string,
    message: { touser: string; msgtype: string; [field: string]: unknown },
  ): string {
    return this.authorized(token, () => {
      if (!CUSTOM_TYPES.has(message.msgtype)) {
        return wechatRefusal(40008);
      }
      const follower = followerOf(this.sql, message.touser);
      if (!follower) {
        return wechatRefusal(40003);
      }
      const spoke = follower.last_message_at;
      if (!follower.following || spoke === null || Date.now() - spoke > WINDOW_MS) {
        return wechatRefusal(45015);
      }
      this.keep("customer_service", null, message);
      return OK;
    });
  }

  /** `/cgi-bin/media/upload` and `/cgi-bin/material/add_material`: the file is not kept. */
  addMedia(
    token: string,
    appId: string,
    upload: { type: string; permanent: boolean; bytes: number },
  ): string {
    return this.authorized(token, () => mass.addMedia(this.sql, upload, appId, Date.now()));
  }

  /** `/cgi-bin/material/del_material`. */
  deleteMaterial(token: string, mediaId: string): string {
    return this.authorized(token, () => mass.deleteMaterial(this.sql, mediaId));
  }

  /** `/cgi-bin/message/mass/sendall`, `send` and `preview`; a send's job is for the route to push. */
  massSend(
    token: string,
    kind: mass.MassKind,
    body: Record<string, unknown>,
  ): { answer: string; job?: MassJob } {
    let job: MassJob | undefined;
    const answer = this.authorized(token, () => {
      const sent = mass.massSend(this.sql, kind, body, Date.now());
      job = sent.job;
      const { touser: _, filter: __, ...content } = body;
      for (const openid of sent.recipients) {
        const msgId = String(sent.answer.msg_id ?? "");
        this.keep(kind === "preview" ? "mass_preview" : "mass", msgId, {
          touser: openid,
          ...content,
        });
      }
      return sent.answer;
    });
    return { answer, job };
  }

  /** `/cgi-bin/message/mass/delete`. */
  deleteMass(token: string, msgId: number): string {
    return this.authorized(token, () => mass.deleteMass(this.sql, msgId));
  }

  /**
   * `/cgi-bin/qrcode/create` with a string scene (the body checked by the route): a ticket, and
   * for a temporary code its lifetime (WeChat's default 60 s, at most 30 days).
   */
  createQrCode(
    token: string,
    request: {
      action_name: string;
      scene_str: string;
      expire_seconds?: number;
    },
  ): string {
    return this.authorized(token, () => {
      const temporary = request.action_name === "QR_STR_SCENE";
      if (!temporary && request.action_name !== "QR_LIMIT_STR_SCENE") {
        return wechatRefusal(40097);
      }
      if (request.scene_str.length < 1 || request.scene_str.length > 64) {
        return wechatRefusal(40053);
      }
      const expireSeconds = Math.min(request.expire_seconds ?? 60, 2_592_000);
      const now = Date.now();
      const random = crypto.getRandomValues(new Uint8Array(24));
      const ticket = `gQ${btoa(String.fromCharCode(...random))}`;
      this.sql.exec(
        "INSERT INTO qrcodes (ticket, scene, expires_at, created_at) VALUES (?, ?, ?, ?)",
        ticket,
        request.scene_str,
        temporary ? now + expireSeconds * 1000 : null,
        now,
      );
      const url = `http://weixin.qq.com/q/${ticket.slice(2, 24).replace(/[+/=]/g, "x")}`;
      return temporary ? { ticket, expire_seconds: expireSeconds, url } : { ticket, url };
    });
  }

  /**
   * A person scans a code (by its ticket, or the newest with `scene`): a follower's scan is
   * `SCAN`; anyone else follows by scanning (`subscribe`), and their window opens either way.
   * Null for a code the account never made, or one that has expired.
   */
  scanned(
    openid: string,
    code: { ticket?: string; scene?: string },
  ): { event: "SCAN" | "subscribe"; scene: string; ticket: string } | null {
    const now = Date.now();
    const row = this.sql
      .exec<{ ticket: string; scene: string; expires_at: number | null }>(
        code.ticket !== undefined
          ? "SELECT ticket, scene, expires_at FROM qrcodes WHERE ticket = ?"
          : "SELECT ticket, scene, expires_at FROM qrcodes WHERE scene = ? ORDER BY created_at DESC LIMIT 1",
        code.ticket ?? code.scene ?? "",
      )
      .toArray()[0];
    if (!row || (row.expires_at !== null && row.expires_at <= now)) {
      return null;
    }
    const follower = followerOf(this.sql, openid);
    const event = follower?.following ? "SCAN" : "subscribe";
    this.sql.exec(
      `INSERT INTO followers (openid, remark, following, subscribe_time, last_message_at, template_result)
       VALUES (?, '', 1, ?, ?, 'success')
       ON CONFLICT (openid) DO UPDATE SET following = 1, last_message_at = excluded.last_message_at,
         subscribe_time = CASE WHEN followers.following = 1 THEN followers.subscribe_time
           ELSE excluded.subscribe_time END`,
      openid,
      Math.floor(now / 1000),
      now,
    );
    return { event, scene: row.scene, ticket: row.ticket };
  }

  /** What the account's followers received, newest first. */
  received(limit: number): ReceivedMessage[] {
    return this.sql
      .exec<{ kind: string; msg_id: string | null; openid: string; content: string; at: number }>(
        `SELECT kind, msg_id, openid, content, received_at AS at FROM received
         ORDER BY seq DESC LIMIT ?`,
        limit,
      )
      .toArray()
      .map((row) => ({
        kind: RECEIVED_KINDS.includes(row.kind as ReceivedMessage["kind"])
          ? (row.kind as ReceivedMessage["kind"])
          : "customer_service",
        msgId: row.msg_id,
        openid: row.openid,
        content: row.content,
        receivedAt: row.at,
      }));
  }

  private keep(kind: ReceivedMessage["kind"], msgId: string | null, message: WeChatAnswer) {
    const { touser, ...content } = message;
    this.sql.exec(
      "INSERT INTO received (kind, msg_id, openid, content, received_at) VALUES (?, ?, ?, ?, ?)",
      kind,
      msgId,
      String(touser),
      JSON.stringify(content),
      Date.now(),
    );
  }

  /** WeChat's answer, as its JSON text: `answer` with a good token, else the token's refusal. */
  private authorized(token: string, answer: () => WeChatAnswer): string {
    return JSON.stringify(this.denial(token) ?? answer());
  }

  /** WeChat's refusal of the token, or null when it is one this account gave and it lasts. */
  private denial(token: string): WeChatAnswer | null {
    const row = this.sql
      .exec<{ expires_at: number }>("SELECT expires_at FROM tokens WHERE token = ?", token)
      .toArray()[0];
    if (!row) {
      return wechatRefusal(40001);
    }
    return row.expires_at > Date.now() ? null : wechatRefusal(42001);
  }
}

/** WeChat's menu/get gives every button a `sub_button` list, empty on a leaf. */
function withSubButtonLists(menu: { button: unknown[] }): { button: unknown[] } {
  const withList = (button: unknown): unknown => {
    if (typeof button !== "object" || button === null || Array.isArray(button)) {
      return button;
    }
    const fields = button as Record<string, unknown>;
    const subs = Array.isArray(fields.sub_button) ? fields.sub_button : [];
    return { ...fields, sub_button: subs.map(withList) };
  };
  return { button: menu.button.map(withList) };
}
