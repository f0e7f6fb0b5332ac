/**
 * Media (素材) of an account: uploaded to WeChat through us, temporary (3 days) or permanent, after
 * WeChat's type, format and size rules are checked (domain/wechat-media). Only the mapping from
 * our id (`med_…`) to WeChat's `media_id` is kept, never the file. Messages and broadcasts take
 * either id (`resolveMediaId`).
 *
 * The file is streamed through, never held: the route reads the multipart body up to the file
 * part (lib/multipart-stream.ts); its size as declared (the request's Content-Length less what came
 * before the file) and its format (its first bytes) are checked against WeChat's rules before
 * WeChat is called; the file's bytes then pass into WeChat's own multipart body as they arrive,
 * counted, and the upload is aborted (the same 422 as a declared size over the limit, nothing
 * stored) once they pass the type's limit, since a declared length can be missing (a chunked
 * body, workerd's own FormData bodies) or lie. The route's body limit (413) still caps it all.
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
  MEDIA_RULES,
  type MediaType,
  TEMPORARY_MEDIA_MS,
} from "../../domain/wechat-media";
import { newId } from "../../lib/ids";
import { countedStream, MultipartError } from "../../lib/multipart-stream";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getWeChatApp, refuseTestKeyOutsideSandbox } from "./apps";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";

export type MediaRow = typeof wechatMedia.$inferSelect;

/** The file part of an upload, as it streams in. */
export interface MediaFile {
  filename: string;
  contentType: string | null;
  stream: ReadableStream<Uint8Array>;
  /** Its size as the request declares it; null when the body has no Content-Length. */
  declaredBytes: number | null;
}

export interface MediaUpload {
  type: MediaType;
  permanent: boolean;
  file: MediaFile;
  title?: string;
  introduction?: string;
}

/** A file already held (the dashboard's form), as an upload's file. */
export function heldFile(file: File): MediaFile {
  return {
    filename: file.name,
    contentType: file.type || null,
    stream: file.stream(),
    declaredBytes: file.size,
  };
}

/** What a streamed upload's failure was, when it was ours rather than WeChat's. */
class UploadAborted extends Error {}

/** The stream's first `n` bytes (fewer if it is shorter), and the stream whole again. */
async function peek(
  stream: ReadableStream<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < n) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    chunks.push(value);
    length += value.length;
  }
  const head = new Uint8Array(Math.min(n, length));
  let at = 0;
  for (const chunk of chunks) {
    if (at >= head.length) {
      break;
    }
    head.set(chunk.subarray(0, head.length - at), at);
    at += Math.min(chunk.length, head.length - at);
  }
  return {
    head,
    stream: new ReadableStream<Uint8Array>({
      async pull(controller) {
        const first = chunks.shift();
        if (first) {
          controller.enqueue(first);
          return;
        }
        const { value, done } = await reader.read();
        if (done) {
          controller.close();
        } else {
          controller.enqueue(value);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    }),
  };
}

const quoted = (value: string) => value.replaceAll('"', "%22").replaceAll(/[\r\n]/g, " ");

/** WeChat's multipart body (`media`, and a video's `description`), the file streamed in. */
function uploadBody(
  boundary: string,
  file: { filename: string; contentType: string; stream: ReadableStream<Uint8Array> },
  description: string | null,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="${quoted(file.filename)}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
  );
  const tail = encoder.encode(
    (description === null
      ? ""
      : `\r\n--${boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n${description}`) +
      `\r\n--${boundary}--\r\n`,
  );
  const reader = file.stream.getReader();
  let stage: "head" | "file" | "tail" = "head";
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (stage === "head") {
        stage = "file";
        controller.enqueue(head);
        return;
      }
      if (stage === "file") {
        const { value, done } = await reader.read();
        if (!done) {
          controller.enqueue(value);
          return;
        }
        stage = "tail";
      }
      controller.enqueue(tail);
      controller.close();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
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
  const { type, permanent } = upload;
  const peeked = await peek(upload.file.stream, 16);
  const declared = upload.file.declaredBytes;
  // Without a declared size, the bytes seen so far stand for it; the count below does the rest.
  const problem = checkMedia(type, permanent, {
    bytes: declared ?? peeked.head.length,
    head: peeked.head,
  });
  if (problem) {
    await peeked.stream.cancel().catch(() => undefined);
    throw new ApiError("unprocessable-entity", problem.detail, {
      errors: [problem],
    });
  }
  let description: string | null = null;
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
      await peeked.stream.cancel().catch(() => undefined);
      throw new ApiError(
        "unprocessable-entity",
        "WeChat needs a permanent video's title and introduction.",
        { errors },
      );
    }
    description = JSON.stringify({
      title: upload.title,
      introduction: upload.introduction,
    });
  }
  const maxBytes = MEDIA_RULES[type].maxBytes;
  let aborted: ApiError | null = null;
  const counted = countedStream(peeked.stream, maxBytes, () => {
    // The same answer (422 at /file) as a declared size over the limit gets before WeChat is called.
    const detail = `A ${type} may be at most ${maxBytes / 1024} KB at WeChat; this file is larger (the upload was stopped as it passed the limit; nothing was kept).`;
    aborted = new ApiError("unprocessable-entity", detail, {
      errors: [{ pointer: "/file", detail }],
    });
    return new UploadAborted(detail);
  });
  const filename = upload.file.filename || `upload.${type === "voice" ? "mp3" : "bin"}`;
  const boundary = `relaybox-${crypto.randomUUID()}`;
  const body = uploadBody(
    boundary,
    {
      filename,
      contentType: upload.file.contentType ?? "application/octet-stream",
      stream: countedWithFraming(counted.stream, (error) => {
        aborted ??= framingProblem(error);
      }),
    },
    description,
  );
  const path = permanent ? "/cgi-bin/material/add_material" : "/cgi-bin/media/upload";
  const answer = await callWeChat(
    env,
    appId,
    path,
    {
      method: "POST",
      query: { type },
      stream: { body, contentType: `multipart/form-data; boundary=${boundary}` },
    },
    io,
  );
  if (aborted) {
    throw aborted;
  }
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
    filename: upload.file.filename || null,
    bytes: counted.counted(),
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

/** A body whose framing breaks mid-file: a 400, as any malformed request. */
function framingProblem(error: unknown): ApiError {
  return new ApiError(
    "validation-error",
    `The multipart body is malformed: ${error instanceof Error ? error.message : String(error)}`,
    { errors: [{ pointer: "/file", detail: "malformed multipart framing" }] },
  );
}

/** `stream`, telling `onError` of an error that is the body's framing (not our count). */
function countedWithFraming(
  stream: ReadableStream<Uint8Array>,
  onError: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        if (error instanceof MultipartError) {
          onError(error);
        }
        throw error;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
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
