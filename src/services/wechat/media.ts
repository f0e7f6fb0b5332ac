/**
 * Media (素材) of an account: uploaded to WeChat through us, temporary (3 days) or permanent, after
 * WeChat's type, format and size rules are checked (domain/wechat-media). Only the mapping from
 * our id (`med_…`) to WeChat's `media_id` is kept, never the file. Messages and broadcasts take
 * either id (`resolveMediaId`).
 *
 * The file: the route's body limit (10 MB, WeChat's largest) is enforced as the body streams in,
 * before it is parsed; workerd's form parser then holds the file (at most 10 MB, far inside a
 * Worker's 128 MB) as a Blob, and the outgoing multipart body streams from that Blob. Re-framing
 * the request's multipart stream without holding it would save those 10 MB but could not check
 * the format and size before WeChat is called, which WeChat's refusals (after the upload) make
 * worth more.
 */
import { and, eq, type SQL } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { wechatMedia } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import {
  checkMedia,
  MAX_VIDEO_INTRODUCTION,
  MAX_VIDEO_TITLE,
  type MediaType,
  TEMPORARY_MEDIA_MS,
} from "../../domain/wechat-media";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getWeChatApp, refuseTestKeyOutsideSandbox } from "./apps";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";

export type MediaRow = typeof wechatMedia.$inferSelect;

export interface MediaUpload {
  type: MediaType;
  permanent: boolean;
  file: File;
  title?: string;
  introduction?: string;
}

/** Checks the file against WeChat's rules, uploads it, and keeps our id for WeChat's media_id. */
export async function uploadMedia(
  env: Env,
  caller: Caller,
  appId: string,
  upload: MediaUpload,
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<MediaRow> {
  refuseTestKeyOutsideSandbox(env, caller, await getWeChatApp(env, caller, appId));
  const { type, permanent, file } = upload;
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const problem = checkMedia(type, permanent, { bytes: file.size, head });
  if (problem) {
    throw new ApiError("unprocessable-entity", problem.detail, {
      errors: [problem],
    });
  }
  const form = new FormData();
  form.append("media", file, file.name || `upload.${type === "voice" ? "mp3" : "bin"}`);
  if (permanent && type === "video") {
    const errors = [];
    if (!upload.title || upload.title.length > MAX_VIDEO_TITLE) {
      errors.push({
        pointer: "/title",
        detail: `1–${MAX_VIDEO_TITLE} characters`,
      });
    }
    if (!upload.introduction || upload.introduction.length > MAX_VIDEO_INTRODUCTION) {
      errors.push({
        pointer: "/introduction",
        detail: `1–${MAX_VIDEO_INTRODUCTION} characters`,
      });
    }
    if (errors.length > 0) {
      throw new ApiError(
        "unprocessable-entity",
        "WeChat needs a permanent video's title and introduction.",
        { errors },
      );
    }
    form.append(
      "description",
      JSON.stringify({
        title: upload.title,
        introduction: upload.introduction,
      }),
    );
  }
  const path = permanent ? "/cgi-bin/material/add_material" : "/cgi-bin/media/upload";
  const answer = await callWeChat(env, appId, path, { method: "POST", query: { type }, form }, io);
  if (!answer.ok) {
    throw wechatProblem(answer.error, `take the ${type}`);
  }
  // A temporary thumb comes back as thumb_media_id.
  const mediaId = answer.value.media_id ?? answer.value.thumb_media_id;
  if (typeof mediaId !== "string" || mediaId === "") {
    throw new ApiError("provider-unavailable", "WeChat took the file but gave no media_id.");
  }
  const row: MediaRow = {
    id: newId("med", now),
    tenantId: caller.tenant.id,
    appId,
    type,
    permanent,
    mediaId,
    url: typeof answer.value.url === "string" ? answer.value.url : null,
    filename: file.name || null,
    bytes: file.size,
    expiresAt: permanent ? null : now + TEMPORARY_MEDIA_MS,
    createdAt: now,
  };
  const { tenantId: _t, ...shown } = row;
  await audited(
    env,
    caller,
    { action: "wechat_media.upload", target: row.id, diff: diffOf({}, shown) },
    [database(env.DB).insert(wechatMedia).values(row)],
  );
  return row;
}

export interface MediaFilter extends PageRequest {
  permanent?: boolean;
}

/** The account's media uploaded through us, newest first (expired temporary ones included). */
export async function listMedia(
  env: Env,
  caller: Caller,
  appId: string,
  filter: MediaFilter,
): Promise<Page<MediaRow>> {
  await getWeChatApp(env, caller, appId);
  const conditions: SQL[] = [
    eq(wechatMedia.tenantId, caller.tenant.id),
    eq(wechatMedia.appId, appId),
  ];
  if (filter.permanent !== undefined) {
    conditions.push(eq(wechatMedia.permanent, filter.permanent));
  }
  const paging = keyset(wechatMedia.id, filter);
  const rows = await database(env.DB)
    .select()
    .from(wechatMedia)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, filter, (row) => row.id);
}

async function mediaRow(env: Env, caller: Caller, appId: string, id: string): Promise<MediaRow> {
  const row = await database(env.DB).query.wechatMedia.findFirst({
    where: and(
      eq(wechatMedia.id, id),
      eq(wechatMedia.tenantId, caller.tenant.id),
      eq(wechatMedia.appId, appId),
    ),
  });
  if (!row) {
    throw new ApiError("not-found", `No media ${id} for ${appId}.`);
  }
  return row;
}

export async function getMedia(
  env: Env,
  caller: Caller,
  appId: string,
  id: string,
): Promise<MediaRow> {
  await getWeChatApp(env, caller, appId);
  return mediaRow(env, caller, appId, id);
}

/** Deletes permanent media at WeChat (`del_material`), then our row; temporary media expire. */
export async function deleteMedia(
  env: Env,
  caller: Caller,
  appId: string,
  id: string,
  io?: WeChatClientIO,
): Promise<void> {
  refuseTestKeyOutsideSandbox(env, caller, await getWeChatApp(env, caller, appId));
  const row = await mediaRow(env, caller, appId, id);
  if (!row.permanent) {
    throw new ApiError(
      "conflict",
      `${id} is temporary: WeChat deletes it itself three days after the upload.`,
    );
  }
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/material/del_material",
    { method: "POST", body: { media_id: row.mediaId } },
    io,
  );
  // 40007: WeChat no longer has it (deleted in its console): ours goes too.
  if (!answer.ok && answer.error.errcode !== 40007) {
    throw wechatProblem(answer.error, "delete the media");
  }
  const { tenantId: _t, ...shown } = row;
  await audited(
    env,
    caller,
    { action: "wechat_media.delete", target: id, diff: diffOf(shown, {}) },
    [
      database(env.DB)
        .delete(wechatMedia)
        .where(and(eq(wechatMedia.id, id), eq(wechatMedia.tenantId, caller.tenant.id))),
    ],
  );
}

/**
 * WeChat's media_id for `id`: ours (`med_…`, this app's, of `type`, not expired) or WeChat's own,
 * passed through. `pointer` names the field in a 422.
 */
export async function resolveMediaId(
  env: Env,
  tenantId: string,
  appId: string,
  id: string,
  expected: { type?: MediaType; pointer: string },
  now: number = Date.now(),
): Promise<string> {
  if (!id.startsWith("med_")) {
    return id;
  }
  const row = await database(env.DB).query.wechatMedia.findFirst({
    where: and(
      eq(wechatMedia.id, id),
      eq(wechatMedia.tenantId, tenantId),
      eq(wechatMedia.appId, appId),
    ),
  });
  const refuse = (detail: string) =>
    new ApiError("unprocessable-entity", detail, {
      errors: [{ pointer: expected.pointer, detail }],
    });
  if (!row) {
    return Promise.reject(refuse(`No media ${id} for ${appId}.`));
  }
  if (expected.type && row.type !== expected.type) {
    throw refuse(`${id} is a ${row.type}, not a ${expected.type}.`);
  }
  if (row.expiresAt !== null && row.expiresAt <= now) {
    throw refuse(
      `${id} was temporary and expired at WeChat on ${new Date(row.expiresAt).toISOString()}.`,
    );
  }
  return row.mediaId;
}
