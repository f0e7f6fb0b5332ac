/**
 * Mass sends (群发) of an account: checked against WeChat's rules (domain/wechat-broadcast), the
 * text screened for sensitive words as an SMS is (a blocked word refuses it; a word that needs a
 * reviewer holds it as `pending_review` until a reviewer approves, as a template is held), the
 * quota of the account's type counted, then sent with `sendall` (all, a tag) or `send` (openids,
 * in WeChat's chunks), each call carrying a `clientmsgid` so that a retry is not sent twice.
 * WeChat's MASSSENDJOBFINISH events fill each job's counts (durable-objects/wechat-account).
 */
import { and, count, eq, inArray, type SQL } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { wechatBroadcastJobs, wechatBroadcasts } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { reviewNote } from "../../domain/review";
import {
  type BroadcastContent,
  type BroadcastTarget,
  type BroadcastType,
  cancellableAtWeChat,
  type MassType,
  openidChunks,
  previewBody,
  type Quota,
  quotaOf,
  refusalOf,
  sendAllBody,
  sendBody,
  type TemplateContent,
  templateMessageBody,
  templateText,
} from "../../domain/wechat-broadcast";
import type { MediaType } from "../../domain/wechat-media";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { refuseBlocked, screenText } from "../content/sensitive-words";
import { getWeChatApp, refuseTestKeyOutsideSandbox, type WeChatAppRow } from "./apps";
import { startFanout } from "./broadcast-fanout";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";
import { resolveMediaId } from "./media";

export type BroadcastRow = typeof wechatBroadcasts.$inferSelect;
export type JobRow = typeof wechatBroadcastJobs.$inferSelect;

export interface BroadcastInput {
  target: BroadcastTarget;
  type: BroadcastType;
  text?: string;
  /** Ours (`med_…`) or WeChat's. */
  media_ids?: string[];
  /** Type template: sent as one template message per follower (broadcast-fanout.ts). */
  template?: TemplateContent;
}

export interface BroadcastView {
  row: BroadcastRow;
  jobs: JobRow[];
}

/** WeChat: "has no masssend quota" (the account's mass sends for the period are used). */
const NO_QUOTA = 45028;

const MEDIA_TYPE: {
  readonly [t in Exclude<MassType, "text">]: MediaType | undefined;
} = {
  image: "image",
  voice: "voice",
  mpvideo: undefined,
  mpnews: undefined,
};

/** The content with our media ids resolved to WeChat's. */
async function contentOf(
  env: Env,
  tenantId: string,
  appId: string,
  input: BroadcastInput,
): Promise<BroadcastContent> {
  if (input.type === "text") {
    return { type: "text", text: input.text ?? "" };
  }
  if (input.type === "template") {
    if (!input.template) {
      throw new ApiError("unprocessable-entity", "A template broadcast needs its template.", {
        errors: [{ pointer: "/template", detail: "template is required" }],
      });
    }
    return { type: "template", template: input.template };
  }
  const type = input.type;
  const ids = input.media_ids ?? [];
  const resolved = [];
  for (const [i, id] of ids.entries()) {
    resolved.push(
      await resolveMediaId(env, tenantId, appId, id, {
        type: MEDIA_TYPE[type],
        pointer: `/media_ids/${i}`,
      }),
    );
  }
  return { type, media_ids: resolved };
}

export interface QuotaView {
  period: Quota["period"];
  limit: number;
  used: number;
  remaining: number;
  resets_at: string;
}

/** The account's mass-send quota in the current period (China time). */
export async function quotaFor(env: Env, app: WeChatAppRow, now: number): Promise<QuotaView> {
  const quota = quotaOf(app.accountType, now);
  const [row] = await database(env.DB)
    .select({ used: count() })
    .from(wechatBroadcasts)
    .where(
      and(
        eq(wechatBroadcasts.tenantId, app.tenantId),
        eq(wechatBroadcasts.appId, app.appId),
        eq(wechatBroadcasts.quotaPeriod, quota.key),
      ),
    );
  const used = row?.used ?? 0;
  return {
    period: quota.period,
    limit: quota.limit,
    used,
    remaining: app.verified ? Math.max(0, quota.limit - used) : 0,
    resets_at: new Date(quota.resetsAt).toISOString(),
  };
}

export async function getQuota(env: Env, caller: Caller, appId: string, now = Date.now()) {
  return quotaFor(env, await getWeChatApp(env, caller, appId), now);
}

/** A 403 for a test key outside the sandbox, a 422 for what WeChat lets no such account do. */
function refuseUnlessAllowed(
  env: Env,
  caller: Caller,
  app: WeChatAppRow,
  target: BroadcastTarget,
  type: BroadcastType,
): void {
  refuseTestKeyOutsideSandbox(env, caller, app);
  const why = refusalOf({ type: app.accountType, verified: app.verified }, target, type);
  if (why) {
    throw new ApiError("unprocessable-entity", why, {
      errors: [{ pointer: "/target", detail: why }],
    });
  }
}

function quotaProblem(quota: QuotaView, now: number): ApiError {
  const seconds = Math.max(1, Math.ceil((Date.parse(quota.resets_at) - now) / 1000));
  return new ApiError(
    "rate-limited",
    `The account's mass sends for this ${quota.period} are used (${quota.used} of ${quota.limit}); the next is possible from ${quota.resets_at}.`,
    { headers: { "Retry-After": String(seconds) } },
  );
}

/**
 * The screening of the content's text (a template's data values too): a blocked word refuses it,
 * a word that needs a reviewer gives the review's reason.
 */
async function screenedReviewReason(
  env: Env,
  tenantId: string,
  content: BroadcastContent,
): Promise<string | null> {
  const [text, pointer] =
    content.type === "text"
      ? [content.text, "/text"]
      : content.type === "template"
        ? [templateText(content.template), "/template/data"]
        : [null, ""];
  if (text === null) {
    return null;
  }
  const screening = await screenText(env, tenantId, text);
  refuseBlocked(screening, pointer);
  return screening.verdict === "review" ? reviewNote(screening.hits) : null;
}

/**
 * Sends a preview of the message to one follower (`/cgi-bin/message/mass/preview`; a template's
 * preview is that one template message, WeChat having no mass preview for templates).
 */
export async function previewBroadcast(
  env: Env,
  caller: Caller,
  appId: string,
  input: Omit<BroadcastInput, "target"> & { openid: string },
  io?: WeChatClientIO,
): Promise<{ msg_id: string | null }> {
  const app = await getWeChatApp(env, caller, appId);
  refuseUnlessAllowed(env, caller, app, { kind: "all" }, input.type);
  const content = await contentOf(env, caller.tenant.id, appId, {
    ...input,
    target: { kind: "all" },
  });
  await screenedReviewReason(env, caller.tenant.id, content);
  const answer = await callWeChat(
    env,
    appId,
    content.type === "template"
      ? "/cgi-bin/message/template/send"
      : "/cgi-bin/message/mass/preview",
    {
      method: "POST",
      body:
        content.type === "template"
          ? templateMessageBody(input.openid, content.template)
          : previewBody(input.openid, content),
    },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "send the preview");
  }
  const msgId = answer.value.msg_id ?? answer.value.msgid;
  return { msg_id: msgId === undefined ? null : String(msgId) };
}

/**
 * Creates a broadcast: sent at once, or held for review when its text has words a reviewer must
 * see. 422 for what WeChat would refuse, 429 when the quota is used.
 */
export async function createBroadcast(
  env: Env,
  caller: Caller,
  appId: string,
  input: BroadcastInput,
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<BroadcastView> {
  const app = await getWeChatApp(env, caller, appId);
  refuseUnlessAllowed(env, caller, app, input.target, input.type);
  const content = await contentOf(env, caller.tenant.id, appId, input);
  const reviewReason = await screenedReviewReason(env, caller.tenant.id, content);
  const row: BroadcastRow = {
    id: newId("brd", now),
    tenantId: caller.tenant.id,
    appId,
    target: input.target,
    type: input.type,
    content: { ...input, target: undefined },
    status: "pending_review",
    reviewReason,
    failure: null,
    quotaPeriod: null,
    createdBy: caller.keyId,
    createdAt: now,
    sentAt: null,
    canceledAt: null,
    fanoutPages: null,
    fanoutListed: null,
    fanoutTotal: null,
    fanoutSent: null,
    fanoutErrors: null,
  };
  if (reviewReason !== null) {
    await audited(
      env,
      caller,
      {
        action: "wechat_broadcast.create",
        target: row.id,
        diff: diffOf({}, shownOf(row)),
      },
      [database(env.DB).insert(wechatBroadcasts).values(row)],
    );
    return { row, jobs: [] };
  }
  return send(env, caller, app, row, content, "wechat_broadcast.create", io, now);
}

/** Sends `row` at WeChat and records it (inserted, or moved on from pending_review). */
async function send(
  env: Env,
  caller: Caller,
  app: WeChatAppRow,
  row: BroadcastRow,
  content: BroadcastContent,
  action: string,
  io: WeChatClientIO | undefined,
  now: number,
): Promise<BroadcastView> {
  if (content.type === "template") {
    return startTemplateBroadcast(env, caller, row, action);
  }
  const quota = await quotaFor(env, app, now);
  if (quota.remaining <= 0) {
    throw quotaProblem(quota, now);
  }
  const target = row.target as BroadcastTarget;
  const calls =
    target.kind === "openids"
      ? openidChunks(target.openids).map((chunk, i) => ({
          path: "/cgi-bin/message/mass/send",
          body: sendBody(chunk, content, `${row.id}-${i}`),
        }))
      : [
          {
            path: "/cgi-bin/message/mass/sendall",
            body: sendAllBody(target, content, row.id),
          },
        ];
  const jobs: JobRow[] = [];
  let failure: string | null = null;
  for (const call of calls) {
    const answer = await callWeChat(
      env,
      app.appId,
      call.path,
      { method: "POST", body: call.body },
      io,
    );
    if (!answer.ok) {
      const problem =
        answer.error.errcode === NO_QUOTA
          ? quotaProblem({ ...quota, used: quota.limit, remaining: 0 }, now)
          : wechatProblem(answer.error, "mass-send");
      if (jobs.length === 0) {
        throw problem;
      }
      failure = `${problem.message} (${jobs.length} of ${calls.length} WeChat calls went)`;
      break;
    }
    jobs.push({
      broadcastId: row.id,
      tenantId: row.tenantId,
      appId: row.appId,
      msgId: String(answer.value.msg_id),
      msgDataId: answer.value.msg_data_id === undefined ? null : String(answer.value.msg_data_id),
      status: null,
      total: null,
      afterFilter: null,
      sent: null,
      errors: null,
      finishedAt: null,
    });
  }
  const sent: BroadcastRow = {
    ...row,
    status: failure ? "failed" : "sent",
    failure,
    quotaPeriod: quotaOf(app.accountType, now).key,
    sentAt: now,
  };
  const db = database(env.DB);
  const write =
    row.status === "pending_review" && action !== "wechat_broadcast.create"
      ? db.update(wechatBroadcasts).set(sent).where(eq(wechatBroadcasts.id, row.id))
      : db.insert(wechatBroadcasts).values(sent);
  const before = action === "wechat_broadcast.create" ? {} : shownOf(row);
  await audited(env, caller, { action, target: row.id, diff: diffOf(before, shownOf(sent)) }, [
    write,
    db.insert(wechatBroadcastJobs).values(jobs),
  ]);
  // After the jobs are in: an event copied from the inbox later finds them itself.
  await env.DB.prepare(FINISHED_EARLY).bind(row.tenantId, row.id).run();
  return { row: sent, jobs: await jobsOf(env, row.tenantId, [row.id]) };
}

/**
 * Records a template broadcast as `sending` (no mass-send quota: these are template messages)
 * and queues its fan-out's first page.
 */
async function startTemplateBroadcast(
  env: Env,
  caller: Caller,
  row: BroadcastRow,
  action: string,
): Promise<BroadcastView> {
  const sending: BroadcastRow = {
    ...row,
    status: "sending",
    sentAt: null,
    fanoutPages: 0,
    fanoutListed: false,
    fanoutTotal: 0,
    fanoutSent: 0,
    fanoutErrors: 0,
  };
  const db = database(env.DB);
  const write =
    action === "wechat_broadcast.create"
      ? db.insert(wechatBroadcasts).values(sending)
      : db.update(wechatBroadcasts).set(sending).where(eq(wechatBroadcasts.id, row.id));
  const before = action === "wechat_broadcast.create" ? {} : shownOf(row);
  await audited(env, caller, { action, target: row.id, diff: diffOf(before, shownOf(sending)) }, [
    write,
  ]);
  await startFanout(env, sending);
  return { row: sending, jobs: [] };
}

/**
 * A MASSSENDJOBFINISH already in the inbox when the jobs are recorded (WeChat was quicker than
 * our write): its counts, as the inbox copy would have set them (durable-objects/wechat-account).
 */
const EARLY_EVENT = `FROM wechat_inbox i WHERE i.tenant_id = j.tenant_id AND i.app_id = j.app_id
  AND i.dedup_key = 'mass|' || j.msg_id AND i.event = 'MASSSENDJOBFINISH'`;
const countOf = (field: string) => `CAST(json_extract(i.fields, '$.${field}') AS INTEGER)`;
const FINISHED_EARLY = `UPDATE wechat_broadcast_jobs AS j SET
    (status, total, after_filter, sent, errors, finished_at) = (SELECT
      json_extract(i.fields, '$.Status'), ${countOf("TotalCount")}, ${countOf("FilterCount")},
      ${countOf("SentCount")}, ${countOf("ErrorCount")}, i.received_at ${EARLY_EVENT})
  WHERE j.tenant_id = ?1 AND j.broadcast_id = ?2 AND j.finished_at IS NULL
    AND EXISTS (SELECT 1 ${EARLY_EVENT})`;

function shownOf(row: BroadcastRow): Record<string, unknown> {
  return {
    appId: row.appId,
    target: row.target,
    type: row.type,
    content: row.content,
    status: row.status,
    reviewReason: row.reviewReason,
    failure: row.failure,
  };
}

async function broadcastRow(env: Env, caller: Caller, appId: string, id: string) {
  const row = await database(env.DB).query.wechatBroadcasts.findFirst({
    where: and(
      eq(wechatBroadcasts.id, id),
      eq(wechatBroadcasts.tenantId, caller.tenant.id),
      eq(wechatBroadcasts.appId, appId),
    ),
  });
  if (!row) {
    throw new ApiError("not-found", `No broadcast ${id} for ${appId}.`);
  }
  return row;
}

async function jobsOf(env: Env, tenantId: string, ids: string[]): Promise<JobRow[]> {
  if (ids.length === 0) {
    return [];
  }
  return database(env.DB)
    .select()
    .from(wechatBroadcastJobs)
    .where(
      and(
        eq(wechatBroadcastJobs.tenantId, tenantId),
        inArray(wechatBroadcastJobs.broadcastId, ids),
      ),
    );
}

export async function getBroadcast(
  env: Env,
  caller: Caller,
  appId: string,
  id: string,
): Promise<BroadcastView> {
  await getWeChatApp(env, caller, appId);
  const row = await broadcastRow(env, caller, appId, id);
  return { row, jobs: await jobsOf(env, caller.tenant.id, [id]) };
}

export async function listBroadcasts(
  env: Env,
  caller: Caller,
  appId: string,
  request: PageRequest,
): Promise<Page<BroadcastView>> {
  await getWeChatApp(env, caller, appId);
  const paging = keyset(wechatBroadcasts.id, request);
  const conditions: SQL[] = [
    eq(wechatBroadcasts.tenantId, caller.tenant.id),
    eq(wechatBroadcasts.appId, appId),
  ];
  const rows = await database(env.DB)
    .select()
    .from(wechatBroadcasts)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  const page = pageOf(rows, request, (row) => row.id);
  const jobs = await jobsOf(
    env,
    caller.tenant.id,
    page.data.map((row) => row.id),
  );
  return {
    data: page.data.map((row) => ({
      row,
      jobs: jobs.filter((j) => j.broadcastId === row.id),
    })),
    nextCursor: page.nextCursor,
  };
}

/** A reviewer approves a held broadcast: it is sent now (quota permitting). */
export async function approveBroadcast(
  env: Env,
  caller: Caller,
  appId: string,
  id: string,
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<BroadcastView> {
  const app = await getWeChatApp(env, caller, appId);
  const row = await broadcastRow(env, caller, appId, id);
  if (row.status !== "pending_review") {
    throw new ApiError(
      "conflict",
      `Broadcast ${id} is ${row.status}; only one pending review can be approved.`,
    );
  }
  const input = {
    ...(row.content as unknown as BroadcastInput),
    target: row.target as BroadcastTarget,
  };
  refuseUnlessAllowed(env, caller, app, input.target, input.type);
  const content = await contentOf(env, caller.tenant.id, appId, input);
  return send(env, caller, app, row, content, "wechat_broadcast.approve", io, now);
}

export async function rejectBroadcast(
  env: Env,
  caller: Caller,
  appId: string,
  id: string,
  reason: string,
): Promise<BroadcastView> {
  await getWeChatApp(env, caller, appId);
  const row = await broadcastRow(env, caller, appId, id);
  if (row.status !== "pending_review") {
    throw new ApiError(
      "conflict",
      `Broadcast ${id} is ${row.status}; only one pending review can be rejected.`,
    );
  }
  const rejected = {
    ...row,
    status: "rejected" as const,
    reviewReason: reason,
  };
  await audited(
    env,
    caller,
    {
      action: "wechat_broadcast.reject",
      target: id,
      diff: diffOf(shownOf(row), shownOf(rejected)),
    },
    [
      database(env.DB)
        .update(wechatBroadcasts)
        .set({ status: "rejected", reviewReason: reason })
        .where(and(eq(wechatBroadcasts.id, id), eq(wechatBroadcasts.status, "pending_review"))),
    ],
  );
  return { row: rejected, jobs: [] };
}

/**
 * Cancels a broadcast: one held for review is simply not sent; a sent one is deleted at WeChat
 * (`/cgi-bin/message/mass/delete`, which WeChat allows for news and videos only: it takes the
 * article page down, as the messages already delivered stay in chats).
 */
export async function cancelBroadcast(
  env: Env,
  caller: Caller,
  appId: string,
  id: string,
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<BroadcastView> {
  refuseTestKeyOutsideSandbox(env, caller, await getWeChatApp(env, caller, appId));
  const row = await broadcastRow(env, caller, appId, id);
  const jobs = await jobsOf(env, caller.tenant.id, [id]);
  if (row.status === "sent" || row.status === "failed") {
    if (!cancellableAtWeChat(row.type)) {
      throw new ApiError(
        "conflict",
        `Broadcast ${id} is a sent ${row.type}: WeChat deletes only sent news (mpnews) and videos.`,
      );
    }
    for (const job of jobs) {
      const answer = await callWeChat(
        env,
        appId,
        "/cgi-bin/message/mass/delete",
        { method: "POST", body: { msg_id: Number(job.msgId), article_idx: 0 } },
        io,
      );
      if (!answer.ok) {
        throw wechatProblem(answer.error, "delete the mass message");
      }
    }
  } else if (row.status !== "pending_review" && row.status !== "sending") {
    // A template broadcast still `sending`: the chunks not yet sent are not sent.
    throw new ApiError("conflict", `Broadcast ${id} is already ${row.status}.`);
  }
  const canceled = { ...row, status: "canceled" as const, canceledAt: now };
  await audited(
    env,
    caller,
    {
      action: "wechat_broadcast.cancel",
      target: id,
      diff: diffOf(shownOf(row), shownOf(canceled)),
    },
    [
      database(env.DB)
        .update(wechatBroadcasts)
        .set({ status: "canceled", canceledAt: now })
        .where(
          and(
            eq(wechatBroadcasts.id, id),
            eq(wechatBroadcasts.tenantId, caller.tenant.id),
            eq(wechatBroadcasts.status, row.status),
          ),
        ),
    ],
  );
  return { row: canceled, jobs };
}
