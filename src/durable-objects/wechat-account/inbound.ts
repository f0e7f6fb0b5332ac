/**
 * The WeChatAccount's inbound side: exactly-once delivery of WeChat's messages and events. WeChat
 * retries a delivery three times when it has no answer within 5 s, and those may land in different
 * isolates at once; the account's Durable Object serialises them. A delivery's dedup record, the
 * reply we gave and the work the delivery triggers (its inbox row and follower change, and for a
 * template job-finish event the result for the message) are written in one SQLite transaction, so
 * a retry gets the same reply, nothing is done twice and nothing is lost to a failure after the
 * dedup record. The object copies that work to D1 itself (wechat-inbound-copy.ts); inbox rows
 * go with INSERT OR IGNORE, so a copy repeated after a failure changes nothing.
 *
 * An app id can pass to another tenant once its owner deletes the app, so what is kept here is
 * the tenant's: dedup records are keyed by tenant, and the copy writes a row only while its tenant
 * still owns the app (a delivery recorded as the app was being deleted leaves nothing in D1).
 */
import { and, eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { inboundMessages } from "../../db/schema";
import {
  emitInboundReceived,
  type InboundToStore,
  inboundStatements,
} from "../../delivery/inbound-store";
import type { InboxRowValues } from "../../delivery/wechat-account";
import { type InteractionKind, SERVICE_WINDOWS } from "../../domain/service-windows";
import { newId } from "../../lib/ids";

const SEEN_TTL_MS = 24 * 60 * 60 * 1000;

export function migrateInbound(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS inbound_seen (
      dedup_key TEXT PRIMARY KEY,
      reply TEXT,
      seen_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS inbound_seen_at ON inbound_seen (seen_at);
    CREATE TABLE IF NOT EXISTS inbound_pending (
      id TEXT PRIMARY KEY,
      row TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS template_results_pending (
      msg_id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      status TEXT NOT NULL,
      received_at INTEGER NOT NULL
    );
  `);
}

/**
 * A dedup record's key: the tenant's, so another owner of the app never gets a reply of ours.
 * (Records from before tenants were in the key last a day; WeChat's retries, seconds.)
 */
function seenKeyOf(tenantId: string, dedupKey: string): string {
  return `${tenantId} ${dedupKey}`;
}

/**
 * Records a delivery once. Returns the reply stored with its first delivery when it was seen
 * before (`duplicate`), else stores this one's dedup record, reply and pending work. The caller
 * runs it in one transaction (`transactionSync`).
 */
export function recordInbound(
  sql: SqlStorage,
  row: InboxRowValues,
  reply: string | null,
  now: number,
): { duplicate: boolean; reply: string | null } {
  const key = seenKeyOf(row.tenantId, row.dedupKey);
  const seen = sql
    .exec<{ reply: string | null }>("SELECT reply FROM inbound_seen WHERE dedup_key = ?", key)
    .toArray()[0];
  if (seen) {
    return { duplicate: true, reply: seen.reply };
  }
  sql.exec(
    "INSERT INTO inbound_seen (dedup_key, reply, seen_at) VALUES (?, ?, ?)",
    key,
    reply,
    now,
  );
  sql.exec("INSERT INTO inbound_pending (id, row) VALUES (?, ?)", row.id, JSON.stringify(row));
  const result = templateResultOf(row);
  if (result) {
    sql.exec(
      `INSERT OR IGNORE INTO template_results_pending (msg_id, tenant_id, status, received_at)
       VALUES (?, ?, ?, ?)`,
      result.msgId,
      row.tenantId,
      result.status,
      now,
    );
  }
  // WeChat retries within a minute; a day of dedup records is plenty and keeps the table small.
  sql.exec("DELETE FROM inbound_seen WHERE seen_at < ?", now - SEEN_TTL_MS);
  return { duplicate: false, reply };
}

/**
 * Forgets the deliveries of `tenantId` (`whose: "tenant"`) or of every other tenant (`"others"`):
 * their dedup records and the work not copied yet. Template results stay: each finishes one of
 * its tenant's own messages.
 */
export function forgetInbound(sql: SqlStorage, tenantId: string, whose: "tenant" | "others"): void {
  const prefix = seenKeyOf(tenantId, "");
  const theirs = whose === "tenant" ? 1 : 0;
  sql.exec(
    "DELETE FROM inbound_seen WHERE (substr(dedup_key, 1, ?) = ?) = ?",
    prefix.length,
    prefix,
    theirs,
  );
  sql.exec(
    "DELETE FROM inbound_pending WHERE (json_extract(row, '$.tenantId') = ?) = ?",
    tenantId,
    theirs,
  );
}

/** A template message's job-finish event: WeChat's msgid and its status. */
function templateResultOf(row: InboxRowValues): { msgId: string; status: string } | null {
  const msgId = row.fields.MsgID;
  if (row.msgType !== "event" || row.event !== "TEMPLATESENDJOBFINISH" || !msgId) {
    return null;
  }
  return { msgId, status: row.fields.Status ?? "" };
}

/**
 * A mass send's MASSSENDJOBFINISH: WeChat's counts on the broadcast's job with that MsgID (the
 * first report wins; WeChat's retries carry the same counts).
 */
function massResult(db: D1Database, r: InboxRowValues): D1PreparedStatement[] {
  const f = r.fields;
  if (r.msgType !== "event" || r.event !== "MASSSENDJOBFINISH" || !f.MsgID) {
    return [];
  }
  const n = (value: string | undefined) =>
    value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
  return [
    db
      .prepare(
        `UPDATE wechat_broadcast_jobs SET status = ?4, total = ?5, after_filter = ?6, sent = ?7,
           errors = ?8, finished_at = ?9
         WHERE tenant_id = ?1 AND app_id = ?2 AND msg_id = ?3 AND finished_at IS NULL`,
      )
      .bind(
        r.tenantId,
        r.appId,
        f.MsgID,
        f.Status ?? "",
        n(f.TotalCount),
        n(f.FilterCount),
        n(f.SentCount),
        n(f.ErrorCount),
        r.receivedAt,
      ),
  ];
}

/** SQL true while tenant `?2` owns app `?3`: the copy writes nothing for a deleted app. */
const OWNS_APP = "EXISTS (SELECT 1 FROM wechat_apps WHERE app_id = ?3 AND tenant_id = ?2)";

/** `inboundStatements`' guard: the app is still the tenant's (?1 the tenant, ?2 the app id). */
const TENANT_OWNS_APP = "EXISTS (SELECT 1 FROM wechat_apps WHERE app_id = ?2 AND tenant_id = ?1)";

/**
 * A user's message (not an event) as an inbound message in its conversation: channel wechat,
 * from the openid to the app id, once per app and MsgId. The stages of SMS handling do not run
 * for it (WeChat's keyword replies are answered passively), so it is stored as handled.
 */
function inboundMessageOf(r: InboxRowValues, now: number): InboundToStore | null {
  if (r.msgType === "event") {
    return null;
  }
  const f = r.fields;
  return {
    id: newId("inb", now),
    tenantId: r.tenantId,
    channel: "wechat",
    sender: r.fromUser,
    recipient: r.appId,
    // A voice message's text when WeChat recognised it; else what kind of message it was.
    body: f.Content ?? f.Recognition ?? `[${r.msgType}]`,
    provider: "wechat",
    providerMessageId: `${r.appId}:${r.dedupKey}`,
    raw: f,
    handling: { done: true },
    receivedAt: r.receivedAt,
  };
}

/**
 * Copies pending inbox rows (with their follower changes, and user messages as inbound messages
 * in their conversations) to D1 in one batch, in the order they came, emits `inbound.received`
 * for those messages, and forgets them; safe to run again after a failure (the event's id comes
 * from the stored message, so a second emission delivers nothing twice), but not alongside
 * another copy.
 */
export async function flushInbox(sql: SqlStorage, env: Env, now = Date.now()): Promise<void> {
  const db = env.DB;
  const pending = sql
    .exec<{ id: string; row: string }>("SELECT id, row FROM inbound_pending ORDER BY rowid")
    .toArray();
  if (pending.length === 0) {
    return;
  }
  const rows = pending.map(({ row }) => JSON.parse(row) as InboxRowValues);
  const messages = rows.flatMap((r) => inboundMessageOf(r, now) ?? []);
  await db.batch([
    ...rows.map((r) =>
      db
        .prepare(
          `INSERT OR IGNORE INTO wechat_inbox (id, tenant_id, app_id, dedup_key, msg_type, event,
             event_key, from_user, to_user, create_time, fields, reply, received_at)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 WHERE ${OWNS_APP}`,
        )
        .bind(
          r.id,
          r.tenantId,
          r.appId,
          r.dedupKey,
          r.msgType,
          r.event,
          r.eventKey,
          r.fromUser,
          r.toUser,
          r.createTime,
          JSON.stringify(r.fields),
          r.reply ? JSON.stringify(r.reply) : null,
          r.receivedAt,
        ),
    ),
    ...messages.flatMap((m) => inboundStatements(db, m, TENANT_OWNS_APP)),
    ...rows.flatMap((r) => followerChange(db, r)),
    ...rows.flatMap((r) => massResult(db, r)),
  ]);
  await emitInboundReceived(env, await storedMessages(env, messages));
  for (const { id } of pending) {
    sql.exec("DELETE FROM inbound_pending WHERE id = ?", id);
  }
}

/** The stored rows of these messages (the first copy's, after a repeated copy). */
async function storedMessages(env: Env, messages: InboundToStore[]) {
  const stored = [];
  for (let i = 0; i < messages.length; i += 90) {
    const chunk = messages.slice(i, i + 90);
    for (const tenantId of new Set(chunk.map((m) => m.tenantId))) {
      stored.push(
        ...(await database(env.DB)
          .select()
          .from(inboundMessages)
          .where(
            and(
              eq(inboundMessages.tenantId, tenantId),
              eq(inboundMessages.provider, "wechat"),
              inArray(
                inboundMessages.providerMessageId,
                chunk.filter((m) => m.tenantId === tenantId).map((m) => m.providerMessageId),
              ),
            ),
          )),
      );
    }
  }
  return stored;
}

/** The menu events that open a window: WeChat counts click, scancode_push and scancode_waitmsg. */
const MENU_EVENTS = new Set(["CLICK", "scancode_push", "scancode_waitmsg"]);

/** The interaction a delivery is, if it opens a customer-service window. */
export function interactionOf(
  r: Pick<InboxRowValues, "msgType" | "event">,
): InteractionKind | null {
  if (r.msgType !== "event") {
    return "message";
  }
  if (r.event === "subscribe") {
    return "subscribe";
  }
  if (r.event === "SCAN") {
    return "scan";
  }
  return MENU_EVENTS.has(r.event ?? "") ? "menu" : null;
}

/**
 * Whether an interaction (`?9` its kind, `?5` its time) replaces the follower's current window. A
 * newer message always does. A newer click, follow or scan does unless a message's 48-hour window
 * is still open: WeChat gives the click its own 1-minute allowance, and letting it cut an open
 * conversation short would refuse replies WeChat takes. A window opened before the last unfollow
 * is closed whatever its age.
 */
const OPENS_WINDOW = `?9 IS NOT NULL
  AND ?5 > COALESCE(service_window_opened_at, 0)
  AND (?9 = 'message'
    OR COALESCE(service_window_kind, '') <> 'message'
    OR service_window_opened_at <= COALESCE(unsubscribed_at, -1)
    OR service_window_opened_at + ${SERVICE_WINDOWS.message.ms} <= ?5)`;

/**
 * The follower row a delivery changes: a follow or unfollow, the time of the user's last
 * interaction, and the customer-service window it opens. Deliveries are applied in the order they
 * reached us; an older event never overwrites a newer one's time (CreateTime decides).
 */
function followerChange(db: D1Database, r: InboxRowValues): D1PreparedStatement[] {
  const at = r.createTime * 1000;
  const interaction = interactionOf(r);
  const following = r.event === "subscribe" ? 1 : r.event === "unsubscribe" ? 0 : null;
  if (!interaction && following === null) {
    return [];
  }
  // SET expressions all read the row as it was, so OPENS_WINDOW sees the old window in both.
  return [
    db
      .prepare(
        `INSERT INTO wechat_followers (tenant_id, app_id, openid, following, tag_ids,
           last_interaction_at, subscribed_at, unsubscribed_at, updated_at, service_window_kind,
           service_window_opened_at)
         SELECT ?2, ?3, ?1, COALESCE(?4, 1), '[]', ?5, ?6, ?7, ?8, ?9, ?5 WHERE ${OWNS_APP}
         ON CONFLICT (tenant_id, app_id, openid) DO UPDATE SET
           following = COALESCE(?4, following),
           last_interaction_at = MAX(COALESCE(last_interaction_at, 0), COALESCE(?5, 0)),
           subscribed_at = COALESCE(?6, subscribed_at),
           unsubscribed_at = COALESCE(?7, unsubscribed_at),
           service_window_kind = CASE WHEN ${OPENS_WINDOW} THEN ?9 ELSE service_window_kind END,
           service_window_opened_at = CASE WHEN ${OPENS_WINDOW} THEN ?5
             ELSE service_window_opened_at END,
           updated_at = ?8`,
      )
      .bind(
        r.fromUser,
        r.tenantId,
        r.appId,
        following,
        interaction ? at : null,
        following === 1 ? at : null,
        following === 0 ? at : null,
        r.receivedAt,
        interaction,
      ),
  ];
}
