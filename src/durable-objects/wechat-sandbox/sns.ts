/**
 * The sandbox's web OAuth (网页授权): codes its authorize page gives for a follower, the web access
 * tokens they are exchanged for, and the user info those tokens read. WeChat's rules: a code works
 * once, within 5 minutes (40029 after, 40163 a second time); a web token lasts 2 hours; only a
 * `snsapi_userinfo` token reads the user info (48001 otherwise). Alice and Bob have a unionid (the
 * account is bound to an Open Platform account), Carol does not.
 */
import { type WeChatAnswer, wechatRefusal } from "../../channels/wechat/sandbox-answers";
import { followerOf } from "./state";

const CODE_MS = 5 * 60_000;
const SNS_TOKEN_SECONDS = 7200;
const SCOPES = new Set(["snsapi_base", "snsapi_userinfo"]);
/** A unionid per sandbox follower that has one. */
const UNIONIDS: Readonly<Record<string, string>> = {
  oSandboxFollower000000000001: "uSandboxUnion0000000000001",
  oSandboxFollower000000000002: "uSandboxUnion0000000000002",
};

export function migrateSns(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS sns_codes (
      code TEXT PRIMARY KEY,
      openid TEXT NOT NULL,
      scope TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      used INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS sns_tokens (
      token TEXT PRIMARY KEY,
      openid TEXT NOT NULL,
      scope TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    );
  `);
}

function random(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/[+/=]/g, "");
}

/** A code for `openid` (a follower of the account) with `scope`, or WeChat's refusal. */
export function issueCode(
  sql: SqlStorage,
  openid: string,
  scope: string,
  now: number,
): { code: string } | WeChatAnswer {
  if (!SCOPES.has(scope)) {
    return wechatRefusal(10005);
  }
  if (!followerOf(sql, openid)) {
    return wechatRefusal(40003);
  }
  sql.exec("DELETE FROM sns_codes WHERE expires_at < ?", now - 24 * 60 * 60_000);
  const code = `0${random(24)}`;
  sql.exec(
    "INSERT INTO sns_codes (code, openid, scope, expires_at) VALUES (?, ?, ?, ?)",
    code,
    openid,
    scope,
    now + CODE_MS,
  );
  return { code };
}

/** `/sns/oauth2/access_token`, the app's secret already checked. */
export function exchangeCode(
  sql: SqlStorage,
  appId: string,
  code: string,
  now: number,
): WeChatAnswer {
  const row = sql
    .exec<{ openid: string; scope: string; expires_at: number; used: number }>(
      "SELECT openid, scope, expires_at, used FROM sns_codes WHERE code = ?",
      code,
    )
    .toArray()[0];
  if (!row || row.expires_at <= now) {
    return wechatRefusal(40029);
  }
  if (row.used) {
    return wechatRefusal(40163);
  }
  sql.exec("UPDATE sns_codes SET used = 1 WHERE code = ?", code);
  // Names its app, so that /sns/userinfo (which has no appid) reaches this account.
  const token = `sns.${appId}.${random(32)}`;
  sql.exec(
    "INSERT INTO sns_tokens (token, openid, scope, expires_at) VALUES (?, ?, ?, ?)",
    token,
    row.openid,
    row.scope,
    now + SNS_TOKEN_SECONDS * 1000,
  );
  const unionid = UNIONIDS[row.openid];
  return {
    access_token: token,
    expires_in: SNS_TOKEN_SECONDS,
    refresh_token: `snsr.${random(32)}`,
    openid: row.openid,
    scope: row.scope,
    is_snapshotuser: 0,
    ...(unionid ? { unionid } : {}),
  };
}

/** `/sns/userinfo`. */
export function snsUserInfo(
  sql: SqlStorage,
  token: string,
  openid: string,
  now: number,
): WeChatAnswer {
  const row = sql
    .exec<{ openid: string; scope: string; expires_at: number }>(
      "SELECT openid, scope, expires_at FROM sns_tokens WHERE token = ?",
      token,
    )
    .toArray()[0];
  if (!row) {
    return wechatRefusal(40001);
  }
  if (row.expires_at <= now) {
    return wechatRefusal(42001);
  }
  if (row.openid !== openid) {
    return wechatRefusal(40003);
  }
  if (row.scope !== "snsapi_userinfo") {
    return wechatRefusal(48001);
  }
  const follower = followerOf(sql, openid);
  const unionid = UNIONIDS[openid];
  return {
    openid,
    nickname: follower?.remark ?? "",
    sex: 0,
    province: "",
    city: "",
    country: "CN",
    headimgurl: "",
    privilege: [],
    ...(unionid ? { unionid } : {}),
  };
}
