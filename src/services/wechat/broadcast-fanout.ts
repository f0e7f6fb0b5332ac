/**
 * A template broadcast's fan-out, driven by WECHAT_SYNC_QUEUE (one message per invocation): WeChat
 * has no mass send for template messages, so each follower gets one `/cgi-bin/message/template/
 * send` through the account's token authority.
 *
 * `broadcast_list` reads one page of the broadcast's followers (user/get for all, user/tag/get for
 * a tag, a slice of 10,000 of its openids), records each follower once (pending, in its chunk),
 * queues the page's chunks and the next page. `broadcast_chunk` sends one chunk's pending
 * followers and writes what became of each, then the broadcast's counts; the last chunk of a
 * complete listing makes the broadcast `sent` (or `failed` when nothing went).
 *
 * Guarantees: a follower is sent to at most once, however often a message is redelivered: a
 * follower is marked `sending` before its call, and one found still `sending` by a redelivery
 * (the attempt died between WeChat's answer and our write) ends `unknown`, not sent again. A
 * canceled broadcast's chunks not yet sent are not sent. WeChat busy or token trouble retries the
 * message (the followers already sent stay sent); a page or chunk that keeps failing is settled by
 * the dead-letter queue.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { wechatBroadcasts } from "../../db/schema";
import type { BroadcastFanoutMessage } from "../../delivery/payloads";
import {
  type BroadcastTarget,
  CHUNKS_PER_PAGE,
  FANOUT_CHUNK,
  FOLLOWER_PAGE,
  type TemplateContent,
  templateMessageBody,
} from "../../domain/wechat-broadcast";
import { callWeChat, type WeChatClientIO } from "./client";
import { isRecord, stringsOf } from "./followers";

type BroadcastRow = typeof wechatBroadcasts.$inferSelect;
type ListMessage = Extract<BroadcastFanoutMessage, { kind: "broadcast_list" }>;
type ChunkMessage = Extract<BroadcastFanoutMessage, { kind: "broadcast_chunk" }>;

/** Thrown for what passes (WeChat busy, token trouble, D1 down): the queue retries the message. */
export class FanoutRetry extends Error {}

/** Queues the first page of a broadcast just recorded as `sending`. */
export async function startFanout(env: Env, row: BroadcastRow): Promise<void> {
  const first: ListMessage = {
    v: 1,
    kind: "broadcast_list",
    tenant_id: row.tenantId,
    broadcast_id: row.id,
    page: 0,
    next_openid: "",
  };
  await env.WECHAT_SYNC_QUEUE.send(first);
}

async function broadcastOf(env: Env, message: BroadcastFanoutMessage) {
  return database(env.DB).query.wechatBroadcasts.findFirst({
    where: and(
      eq(wechatBroadcasts.id, message.broadcast_id),
      eq(wechatBroadcasts.tenantId, message.tenant_id),
    ),
  });
}

export async function runFanoutMessage(
  env: Env,
  message: BroadcastFanoutMessage,
  io: WeChatClientIO | undefined,
  now: number,
): Promise<void> {
  if (message.kind === "broadcast_list") {
    await listPage(env, message, io, now);
  } else {
    await sendChunk(env, message, io, now);
  }
}

/** A page of openids, and the cursor after it ("" when this was the last page). */
async function followersPage(
  env: Env,
  row: BroadcastRow,
  page: ListMessage,
  io: WeChatClientIO | undefined,
): Promise<{ openids: string[]; next: string }> {
  const target = row.target as BroadcastTarget;
  if (target.kind === "openids") {
    const openids = target.openids.slice(
      page.page * FOLLOWER_PAGE,
      (page.page + 1) * FOLLOWER_PAGE,
    );
    const more = (page.page + 1) * FOLLOWER_PAGE < target.openids.length;
    return { openids, next: more ? String(page.page + 1) : "" };
  }
  const answer =
    target.kind === "tag"
      ? await callWeChat(
          env,
          row.appId,
          "/cgi-bin/user/tag/get",
          { method: "POST", body: { tagid: target.tag_id, next_openid: page.next_openid } },
          io,
        )
      : await callWeChat(
          env,
          row.appId,
          "/cgi-bin/user/get",
          { method: "GET", query: page.next_openid ? { next_openid: page.next_openid } : {} },
          io,
        );
  if (!answer.ok) {
    if (answer.error.retryable || answer.error.code !== "wechat-error") {
      throw new FanoutRetry(`WeChat could not list the followers now: ${answer.error.message}`);
    }
    throw new ListingRefused(
      `WeChat refused to list the followers: errcode ${answer.error.errcode} (${answer.error.errmsg ?? ""})`,
    );
  }
  const data = answer.value.data;
  const openids = stringsOf(isRecord(data) ? data.openid : undefined);
  const next = typeof answer.value.next_openid === "string" ? answer.value.next_openid : "";
  // WeChat repeats the last openid as next_openid on the last page; a short page is the last.
  return { openids, next: openids.length < FOLLOWER_PAGE ? "" : next };
}

class ListingRefused extends Error {}

const INSERT_RECIPIENTS = `INSERT OR IGNORE INTO wechat_broadcast_recipients
    (broadcast_id, openid, chunk, status)
  SELECT ?1, value, ?2 + (key / ${FANOUT_CHUNK}), 'pending' FROM json_each(?3)`;

async function listPage(
  env: Env,
  page: ListMessage,
  io: WeChatClientIO | undefined,
  now: number,
): Promise<void> {
  const row = await broadcastOf(env, page);
  // Canceled, finished, gone, or this page already listed (a redelivery): nothing to do.
  if (row?.status !== "sending" || (row.fanoutPages ?? 0) !== page.page) {
    return;
  }
  let listed: { openids: string[]; next: string };
  try {
    listed = await followersPage(env, row, page, io);
  } catch (error) {
    if (error instanceof ListingRefused) {
      await failBroadcast(env, page, error.message, now);
      return;
    }
    throw error;
  }
  const firstChunk = page.page * CHUNKS_PER_PAGE;
  const chunks = Math.ceil(listed.openids.length / FANOUT_CHUNK);
  // A follower listed twice (a listing that moved under us) is kept in its first chunk.
  await env.DB.prepare(INSERT_RECIPIENTS)
    .bind(row.id, firstChunk, JSON.stringify(listed.openids))
    .run();
  if (chunks > 0) {
    await env.WECHAT_SYNC_QUEUE.sendBatch(
      Array.from({ length: chunks }, (_, i) => ({
        body: {
          v: 1,
          kind: "broadcast_chunk",
          tenant_id: row.tenantId,
          broadcast_id: row.id,
          chunk: firstChunk + i,
        } satisfies ChunkMessage,
      })),
    );
  }
  const last = listed.next === "" || listed.openids.length === 0;
  if (!last) {
    await env.WECHAT_SYNC_QUEUE.send({
      ...page,
      page: page.page + 1,
      next_openid: listed.next,
    } satisfies ListMessage);
  }
  await env.DB.prepare(
    `UPDATE wechat_broadcasts SET fanout_pages = ?1 + 1, fanout_listed = ?2,
       fanout_total = (SELECT count(*) FROM wechat_broadcast_recipients WHERE broadcast_id = ?3)
     WHERE id = ?3 AND tenant_id = ?4 AND fanout_pages = ?1`,
  )
    .bind(page.page, last ? 1 : 0, row.id, row.tenantId)
    .run();
  if (last) {
    await settle(env, row.id, row.tenantId, now);
  }
}

interface Outcome {
  openid: string;
  status: "sent" | "failed" | "pending";
  msgId: string | null;
  error: string | null;
}

async function sendChunk(
  env: Env,
  chunk: ChunkMessage,
  io: WeChatClientIO | undefined,
  now: number,
): Promise<void> {
  const row = await broadcastOf(env, chunk);
  if (!row) {
    return;
  }
  const db = env.DB;
  if (row.status !== "sending") {
    // Canceled (or settled by the dead-letter queue): the chunk's followers are not sent to.
    await db
      .prepare(
        `UPDATE wechat_broadcast_recipients SET status = 'canceled'
         WHERE broadcast_id = ?1 AND chunk = ?2 AND status = 'pending'`,
      )
      .bind(row.id, chunk.chunk)
      .run();
    await settle(env, row.id, row.tenantId, now);
    return;
  }
  // Still `sending` from an attempt that died after calling WeChat: it may have gone; never twice.
  const claim = await db.batch<{ openid: string }>([
    db
      .prepare(
        `UPDATE wechat_broadcast_recipients SET status = 'unknown',
           error = 'the attempt ended before WeChat''s answer was recorded'
         WHERE broadcast_id = ?1 AND chunk = ?2 AND status = 'sending'`,
      )
      .bind(row.id, chunk.chunk),
    db
      .prepare(
        `UPDATE wechat_broadcast_recipients SET status = 'sending'
         WHERE broadcast_id = ?1 AND chunk = ?2 AND status = 'pending' RETURNING openid`,
      )
      .bind(row.id, chunk.chunk),
  ]);
  const openids = (claim[1]?.results ?? []).map((r) => r.openid);
  const template = (row.content as { template: TemplateContent }).template;
  const outcomes: Outcome[] = [];
  let retry: string | null = null;
  for (const openid of openids) {
    if (retry !== null) {
      outcomes.push({ openid, status: "pending", msgId: null, error: null });
      continue;
    }
    const answer = await callWeChat(
      env,
      row.appId,
      "/cgi-bin/message/template/send",
      { method: "POST", body: templateMessageBody(openid, template, row.id) },
      io,
    );
    if (answer.ok) {
      const msgId = answer.value.msgid;
      outcomes.push({
        openid,
        status: "sent",
        msgId: msgId === undefined ? null : String(msgId),
        error: null,
      });
    } else if (answer.error.retryable || answer.error.code !== "wechat-error") {
      // WeChat busy or the token: this one and the rest wait for the message's retry.
      retry = answer.error.message;
      outcomes.push({ openid, status: "pending", msgId: null, error: null });
    } else {
      outcomes.push({
        openid,
        status: "failed",
        msgId: null,
        error: `errcode ${answer.error.errcode} (${answer.error.errmsg ?? ""})`,
      });
    }
  }
  if (outcomes.length > 0) {
    await db
      .prepare(
        `UPDATE wechat_broadcast_recipients AS r SET status = o.value ->> 'status',
           msg_id = o.value ->> 'msgId', error = o.value ->> 'error'
         FROM json_each(?3) AS o
         WHERE r.broadcast_id = ?1 AND r.chunk = ?2 AND r.openid = o.value ->> 'openid'
           AND r.status = 'sending'`,
      )
      .bind(row.id, chunk.chunk, JSON.stringify(outcomes))
      .run();
  }
  await settle(env, row.id, row.tenantId, now);
  if (retry !== null) {
    throw new FanoutRetry(`chunk ${chunk.chunk} of ${row.id}: ${retry}`);
  }
}

/**
 * Writes the broadcast's counts from its recipients, and makes it final once its listing is
 * complete and no follower waits: `sent`, or `failed` when none was sent.
 */
async function settle(env: Env, id: string, tenantId: string, now: number): Promise<void> {
  const counted = `(SELECT count(*) FROM wechat_broadcast_recipients WHERE broadcast_id = ?1 AND status`;
  await env.DB.batch([
    env.DB.prepare(
      `UPDATE wechat_broadcasts SET fanout_sent = ${counted} = 'sent'),
         fanout_errors = ${counted} IN ('failed', 'unknown'))
       WHERE id = ?1 AND tenant_id = ?2`,
    ).bind(id, tenantId),
    env.DB.prepare(
      `UPDATE wechat_broadcasts SET
         status = CASE WHEN fanout_sent = 0 AND fanout_errors > 0 THEN 'failed' ELSE 'sent' END,
         failure = CASE WHEN fanout_sent = 0 AND fanout_errors > 0
           THEN 'No follower took the template message.' ELSE NULL END,
         sent_at = ?3
       WHERE id = ?1 AND tenant_id = ?2 AND status = 'sending' AND fanout_listed = 1
         AND NOT EXISTS (SELECT 1 FROM wechat_broadcast_recipients
           WHERE broadcast_id = ?1 AND status IN ('pending', 'sending'))`,
    ).bind(id, tenantId, now),
  ]);
}

async function failBroadcast(
  env: Env,
  message: BroadcastFanoutMessage,
  failure: string,
  now: number,
): Promise<void> {
  // The followers not yet sent to will not be: the listing cannot go on.
  await env.DB.batch([
    env.DB.prepare(
      `UPDATE wechat_broadcast_recipients SET status = 'canceled'
       WHERE broadcast_id = ?1 AND status = 'pending'`,
    ).bind(message.broadcast_id),
    env.DB.prepare(
      `UPDATE wechat_broadcasts SET status = 'failed', failure = ?3, sent_at = ?4
       WHERE id = ?1 AND tenant_id = ?2 AND status = 'sending'`,
    ).bind(message.broadcast_id, message.tenant_id, failure, now),
  ]);
  await settle(env, message.broadcast_id, message.tenant_id, now);
}

/** The dead-letter queue: a page that kept failing fails the broadcast; a chunk its followers. */
export async function fanoutDeadLetter(
  env: Env,
  message: BroadcastFanoutMessage,
  now: number,
): Promise<void> {
  if (message.kind === "broadcast_list") {
    await failBroadcast(
      env,
      message,
      `page ${message.page} of the followers failed after every retry`,
      now,
    );
    return;
  }
  await env.DB.prepare(
    `UPDATE wechat_broadcast_recipients
       SET status = CASE status WHEN 'sending' THEN 'unknown' ELSE 'failed' END,
         error = 'failed after every retry'
     WHERE broadcast_id = ?1 AND chunk = ?2 AND status IN ('pending', 'sending')`,
  )
    .bind(message.broadcast_id, message.chunk)
    .run();
  await settle(env, message.broadcast_id, message.tenant_id, now);
}
