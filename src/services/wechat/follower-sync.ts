/**
 * The follower sync as a job: `startFollowerSync` records it and queues its first page;
 * WECHAT_SYNC_QUEUE's consumer (`consumeFollowerSync`) reads one page of WeChat's follower list
 * per message (`/cgi-bin/user/get`, 10,000 openids), the page's user info 100 at a time
 * (`/cgi-bin/user/info/batchget`), upserts the rows, counts the page on the job and queues the
 * next page; after the last it marks the rows not listed since the job began as unfollowed. So an
 * account of a million followers syncs in 100 short invocations, never one long request.
 *
 * Receives (the consumer): `FollowerSyncPage`s, at least once, possibly twice. Guarantees: a page
 * is counted once (the job advances only from the page the message names), its rows written again
 * harmlessly; WeChat busy, D1 or the network failing retries the message; WeChat refusing the
 * account (a non-retryable errcode) ends the job `failed` with WeChat's errcode, as does a page
 * dead-lettered after its retries. Never: marks anyone unfollowed unless the listing finished.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { wechatFollowerSyncs } from "../../db/schema";
import {
  broadcastFanoutSchema,
  type FollowerSyncPage,
  followerSyncPageSchema,
} from "../../delivery/payloads";
import type { Caller } from "../../domain/caller";
import { newId } from "../../lib/ids";
import { createLogger } from "../../lib/log";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getWeChatApp } from "./apps";
import { fanoutDeadLetter, runFanoutMessage } from "./broadcast-fanout";
import { callWeChat, type WeChatClientIO } from "./client";
import {
  INFO_BATCH,
  isRecord,
  listedRow,
  MARK_UNLISTED,
  stringsOf,
  UPSERT_LISTED,
} from "./followers";

export type FollowerSyncRow = typeof wechatFollowerSyncs.$inferSelect;

/** A running job not heard from in this long is taken for dead: another may start. */
const STALE_MS = 15 * 60_000;

/** Records a sync job for the app and queues its first page; one running job per app. */
export async function startFollowerSync(
  env: Env,
  caller: Caller,
  appId: string,
  now: number = Date.now(),
): Promise<FollowerSyncRow> {
  await getWeChatApp(env, caller, appId);
  const db = database(env.DB);
  const running = await db.query.wechatFollowerSyncs.findFirst({
    where: and(
      eq(wechatFollowerSyncs.tenantId, caller.tenant.id),
      eq(wechatFollowerSyncs.appId, appId),
      eq(wechatFollowerSyncs.status, "running"),
      sql`${wechatFollowerSyncs.updatedAt} > ${now - STALE_MS}`,
    ),
  });
  if (running) {
    throw new ApiError("conflict", `Follower sync ${running.id} of ${appId} is still running.`);
  }
  const row: FollowerSyncRow = {
    id: newId("fsy", now),
    tenantId: caller.tenant.id,
    appId,
    status: "running",
    total: null,
    fetched: 0,
    pages: 0,
    error: null,
    startedAt: now,
    finishedAt: null,
    updatedAt: now,
  };
  await audited(
    env,
    caller,
    { action: "wechat_follower_sync.start", target: `${appId}/${row.id}`, diff: {} },
    [db.insert(wechatFollowerSyncs).values(row)],
  );
  const first: FollowerSyncPage = {
    v: 1,
    job_id: row.id,
    tenant_id: caller.tenant.id,
    app_id: appId,
    page: 0,
    next_openid: "",
  };
  await env.WECHAT_SYNC_QUEUE.send(first);
  return row;
}

export async function getFollowerSync(
  env: Env,
  caller: Caller,
  appId: string,
  jobId: string,
): Promise<FollowerSyncRow> {
  const row = await database(env.DB).query.wechatFollowerSyncs.findFirst({
    where: and(
      eq(wechatFollowerSyncs.id, jobId),
      eq(wechatFollowerSyncs.tenantId, caller.tenant.id),
      eq(wechatFollowerSyncs.appId, appId),
    ),
  });
  if (!row) {
    throw new ApiError("not-found", `No follower sync ${jobId} of ${appId}.`);
  }
  return row;
}

/** The app's syncs, newest first (the last 20). */
export async function listFollowerSyncs(
  env: Env,
  caller: Caller,
  appId: string,
): Promise<FollowerSyncRow[]> {
  await getWeChatApp(env, caller, appId);
  return database(env.DB)
    .select()
    .from(wechatFollowerSyncs)
    .where(
      and(eq(wechatFollowerSyncs.tenantId, caller.tenant.id), eq(wechatFollowerSyncs.appId, appId)),
    )
    .orderBy(desc(wechatFollowerSyncs.startedAt))
    .limit(20);
}

type PageResult =
  | { kind: "next"; page: FollowerSyncPage }
  | { kind: "done" }
  | { kind: "retry" }
  | { kind: "failed"; error: string };

/**
 * WECHAT_SYNC_QUEUE: one page of a follower sync, or one page or chunk of a template broadcast's
 * fan-out (broadcast-fanout.ts), per message (max_batch_size 1), each acked or retried alone.
 */
export async function consumeFollowerSync(
  batch: MessageBatch<unknown>,
  env: Env,
  io?: WeChatClientIO,
  now: () => number = Date.now,
): Promise<void> {
  const log = createLogger(env.LOG_LEVEL, { queue: "wechat-sync" });
  for (const message of batch.messages) {
    const fanout = broadcastFanoutSchema.safeParse(message.body);
    if (fanout.success) {
      try {
        await runFanoutMessage(env, fanout.data, io, now());
        message.ack();
      } catch (error) {
        log.error("wechat broadcast fan-out: message retried", {
          tenant_id: fanout.data.tenant_id,
          broadcast_id: fanout.data.broadcast_id,
          error,
        });
        message.retry({ delaySeconds: Math.min(2 ** message.attempts, 300) });
      }
      continue;
    }
    const parsed = followerSyncPageSchema.safeParse(message.body);
    if (!parsed.success) {
      log.error("wechat sync: a message that is not a page was dropped", {
        queue_message_id: message.id,
        reason: parsed.error.message,
      });
      message.ack();
      continue;
    }
    try {
      await syncPage(env, parsed.data, io, now);
      message.ack();
    } catch (error) {
      log.error("wechat sync: page retried", {
        tenant_id: parsed.data.tenant_id,
        app_id: parsed.data.app_id,
        error,
      });
      // 2 s, 4 s, 8 s... up to 5 minutes: WeChat busy usually passes within seconds.
      message.retry({ delaySeconds: Math.min(2 ** message.attempts, 300) });
    }
  }
}

/** The dead-letter queue: a page that kept failing ends its job `failed`. */
export async function consumeFollowerSyncDeadLetters(
  batch: MessageBatch<unknown>,
  env: Env,
  now: () => number = Date.now,
): Promise<void> {
  const log = createLogger(env.LOG_LEVEL, { queue: "wechat-sync" });
  for (const message of batch.messages) {
    const fanout = broadcastFanoutSchema.safeParse(message.body);
    if (fanout.success) {
      await fanoutDeadLetter(env, fanout.data, now());
      message.ack();
      continue;
    }
    const parsed = followerSyncPageSchema.safeParse(message.body);
    if (parsed.success) {
      await finishJob(env, parsed.data, "failed", "a page failed after every retry", now());
    } else {
      log.error("wechat sync dead letters: a message that is not a page was dropped", {
        queue_message_id: message.id,
      });
    }
    message.ack();
  }
}

async function syncPage(
  env: Env,
  page: FollowerSyncPage,
  io: WeChatClientIO | undefined,
  now: () => number,
): Promise<void> {
  const job = await database(env.DB).query.wechatFollowerSyncs.findFirst({
    where: and(
      eq(wechatFollowerSyncs.id, page.job_id),
      eq(wechatFollowerSyncs.tenantId, page.tenant_id),
    ),
  });
  // A job already past this page (a redelivery), finished, or gone: nothing to do.
  if (job?.status !== "running" || job.pages !== page.page) {
    return;
  }
  const result = await readPage(env, job, page, io);
  if (result.kind === "retry") {
    throw new Error(`page ${page.page} of ${page.job_id}: WeChat could not answer now`);
  }
  if (result.kind === "failed") {
    await finishJob(env, page, "failed", result.error, now());
    return;
  }
  if (result.kind === "done") {
    // The listing is complete: rows not listed since the job began are of users who left.
    await env.DB.prepare(MARK_UNLISTED).bind(job.startedAt, page.app_id, page.tenant_id).run();
    await finishJob(env, page, "done", null, now());
    return;
  }
  await env.WECHAT_SYNC_QUEUE.send(result.page);
}

/**
 * Lists one page, writes its users and counts it on the job (only if the job is still at this
 * page). `next` carries the page after it, `done` says this was the last.
 */
async function readPage(
  env: Env,
  job: FollowerSyncRow,
  page: FollowerSyncPage,
  io: WeChatClientIO | undefined,
): Promise<PageResult> {
  const query: Record<string, string> = page.next_openid ? { next_openid: page.next_openid } : {};
  const listing = await callWeChat(
    env,
    job.appId,
    "/cgi-bin/user/get",
    { method: "GET", query },
    io,
  );
  if (!listing.ok) {
    return failure(listing.error, "list the followers");
  }
  const answer = listing.value;
  const openids = stringsOf(isRecord(answer.data) ? answer.data.openid : undefined);
  const total = typeof answer.total === "number" ? answer.total : null;
  const writes: D1PreparedStatement[] = [];
  for (let start = 0; start < openids.length; start += INFO_BATCH) {
    const users = openids.slice(start, start + INFO_BATCH);
    const info = await callWeChat(
      env,
      job.appId,
      "/cgi-bin/user/info/batchget",
      { method: "POST", body: { user_list: users.map((openid) => ({ openid, lang: "zh_CN" })) } },
      io,
    );
    if (!info.ok) {
      return failure(info.error, "give the followers' info");
    }
    const infos = new Map<string, Record<string, unknown>>();
    const list = Array.isArray(info.value.user_info_list) ? info.value.user_info_list : [];
    for (const item of list) {
      if (isRecord(item) && typeof item.openid === "string") {
        infos.set(item.openid, item);
      }
    }
    const rows = users.map((openid) => listedRow(openid, infos.get(openid)));
    writes.push(
      env.DB.prepare(UPSERT_LISTED).bind(
        job.appId,
        job.tenantId,
        job.startedAt,
        JSON.stringify(rows),
      ),
    );
  }
  const fetchedBefore = job.fetched;
  writes.push(
    env.DB.prepare(
      `UPDATE wechat_follower_syncs SET pages = pages + 1, fetched = ?1, total = COALESCE(?2, total),
         updated_at = ?3 WHERE id = ?4 AND pages = ?5 AND status = 'running'`,
    ).bind(fetchedBefore + openids.length, total, Date.now(), job.id, page.page),
  );
  await env.DB.batch(writes);
  const nextOpenid = typeof answer.next_openid === "string" ? answer.next_openid : "";
  const listed = fetchedBefore + openids.length;
  // WeChat repeats the last openid as next_openid on the last page and answers the call after it
  // with count 0; stopping once `total` is reached saves that call.
  if (
    answer.count === 0 ||
    openids.length === 0 ||
    !nextOpenid ||
    (total !== null && listed >= total)
  ) {
    return { kind: "done" };
  }
  return { kind: "next", page: { ...page, page: page.page + 1, next_openid: nextOpenid } };
}

function failure(
  error: { retryable: boolean; code: string; errcode?: number; errmsg?: string; message: string },
  action: string,
): PageResult {
  // Token trouble and a busy WeChat pass; WeChat refusing the call will not.
  if (error.retryable || error.code !== "wechat-error") {
    return { kind: "retry" };
  }
  return {
    kind: "failed",
    error: `WeChat refused to ${action}: errcode ${error.errcode} (${error.errmsg ?? ""})`,
  };
}

async function finishJob(
  env: Env,
  page: FollowerSyncPage,
  status: "done" | "failed",
  error: string | null,
  now: number,
): Promise<void> {
  await database(env.DB)
    .update(wechatFollowerSyncs)
    .set({ status, error, finishedAt: now, updatedAt: now })
    .where(
      and(
        eq(wechatFollowerSyncs.id, page.job_id),
        eq(wechatFollowerSyncs.tenantId, page.tenant_id),
        eq(wechatFollowerSyncs.status, "running"),
      ),
    );
}
