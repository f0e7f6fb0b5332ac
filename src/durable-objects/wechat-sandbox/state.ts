/**
 * The WeChatSandbox object's storage: the account's followers (three to begin with), tags, menu,
 * QR codes, access tokens, media (their ids; the files are not kept), mass jobs and what it received, in the object's own SQLite (no D1 schema for a dev tool).
 */

/** The followers every sandbox account starts with. Carol has blocked template messages. */
export const SANDBOX_FOLLOWERS = [
  { openid: "oSandboxFollower000000000001", remark: "Alice", templateResult: "success" },
  { openid: "oSandboxFollower000000000002", remark: "Bob", templateResult: "success" },
  { openid: "oSandboxFollower000000000003", remark: "Carol", templateResult: "failed:user block" },
] as const;

export function migrateSandbox(sql: SqlStorage, now: number): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS tokens (
      token TEXT PRIMARY KEY,
      issued_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS followers (
      openid TEXT PRIMARY KEY,
      remark TEXT NOT NULL,
      following INTEGER NOT NULL,
      subscribe_time INTEGER NOT NULL,
      tag_ids TEXT NOT NULL DEFAULT '[]',
      last_message_at INTEGER,
      template_result TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS menu (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS received (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      msg_id TEXT,
      openid TEXT NOT NULL,
      content TEXT NOT NULL,
      received_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS media (
      media_id TEXT PRIMARY KEY,
      type TEXT NOT NULL,
      permanent INTEGER NOT NULL,
      bytes INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS mass_jobs (msg_id INTEGER PRIMARY KEY, deleted INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS qrcodes (
      ticket TEXT PRIMARY KEY,
      scene TEXT NOT NULL,
      expires_at INTEGER,
      created_at INTEGER NOT NULL
    );
    -- WeChat's starred tag, which every account lists.
    INSERT OR IGNORE INTO tags (id, name) VALUES (2, '星标组');
  `);
  for (const follower of SANDBOX_FOLLOWERS) {
    sql.exec(
      `INSERT OR IGNORE INTO followers (openid, remark, following, subscribe_time, template_result)
       VALUES (?, ?, 1, ?, ?)`,
      follower.openid,
      follower.remark,
      Math.floor(now / 1000),
      follower.templateResult,
    );
  }
}

export interface FollowerRow {
  openid: string;
  remark: string;
  following: number;
  subscribe_time: number;
  tag_ids: string;
  last_message_at: number | null;
  template_result: string;
  [key: string]: SqlStorageValue;
}

export function followerOf(sql: SqlStorage, openid: string): FollowerRow | undefined {
  return sql.exec<FollowerRow>("SELECT * FROM followers WHERE openid = ?", openid).toArray()[0];
}

/** WeChat's pages of openids (user/get, user/tag/get) hold 10,000. */
export const OPENID_PAGE = 10_000;

export function followingAfter(sql: SqlStorage, after: string, tagId?: number): string[] {
  const rows =
    tagId === undefined
      ? sql.exec<{ openid: string }>(
          "SELECT openid FROM followers WHERE following = 1 AND openid > ? ORDER BY openid LIMIT ?",
          after,
          OPENID_PAGE,
        )
      : sql.exec<{ openid: string }>(
          `SELECT openid FROM followers WHERE following = 1 AND openid > ?
             AND EXISTS (SELECT 1 FROM json_each(tag_ids) WHERE value = ?) ORDER BY openid LIMIT ?`,
          after,
          tagId,
          OPENID_PAGE,
        );
  return rows.toArray().map((row) => row.openid);
}

export function tagIdsOf(follower: FollowerRow): number[] {
  return JSON.parse(follower.tag_ids) as number[];
}

/**
 * A WeChat msgid: unique in this account and never one an earlier sandbox (wiped since) gave, so
 * a stale job-finish event cannot match another message. Time-based, within 2^53.
 */
export function nextMsgId(sql: SqlStorage, now: number): number {
  const last = sql
    .exec<{ value: number }>("SELECT value FROM meta WHERE name = 'last_msg_id'")
    .toArray()[0];
  const next = Math.max((last?.value ?? 0) + 1, now * 1000);
  sql.exec("INSERT OR REPLACE INTO meta (name, value) VALUES ('last_msg_id', ?)", next);
  return next;
}
