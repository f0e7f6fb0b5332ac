import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../app-env";
import { boundaryOf, MultipartError, readMultipartHead } from "../../lib/multipart-stream";
import { ApiError, validationError } from "../../lib/problem";
import * as media from "../../services/wechat/media";
import { iso } from "../common";
import type * as routes from "./wechat-media.routes";
import { AppParams, MediaFields } from "./wechat-media.routes";

export function presentMedia(row: media.MediaRow) {
  return {
    id: row.id,
    app_id: row.appId,
    type: row.type,
    permanent: row.permanent,
    media_id: row.mediaId,
    url: row.url,
    filename: row.filename,
    bytes: row.bytes,
    expires_at: iso(row.expiresAt),
    created_at: new Date(row.createdAt).toISOString(),
  };
}

/**
 * The upload, streamed: not a validated route (its validator would read the whole form first), so
 * the path, the Content-Type and the fields before the file are checked here, as the route's
 * schemas say (wechat-media.routes.ts, whose document it is).
 */
export const uploadMedia = async (c: Context<AppEnv>) => {
  const params = AppParams.safeParse({ app_id: c.req.param("app_id") });
  if (!params.success) {
    throw validationError("param", params.error);
  }
  const boundary = boundaryOf(c.req.header("content-type"));
  const body = c.req.raw.body;
  if (boundary === null || body === null) {
    throw new ApiError(
      "unsupported-media-type",
      "Send the media as multipart/form-data (fields type and permanent, then file).",
    );
  }
  let head: Awaited<ReturnType<typeof readMultipartHead>>;
  try {
    head = await readMultipartHead(body, boundary);
  } catch (error) {
    if (error instanceof MultipartError) {
      throw new ApiError("validation-error", `The multipart body is malformed: ${error.message}`);
    }
    throw error;
  }
  const fields = MediaFields.safeParse(Object.fromEntries(head.fields));
  if (!fields.success) {
    const problem = validationError("form", fields.error);
    if (head.file !== null) {
      // The file is streamed on as it comes: what comes after it is never read.
      problem.message += " Send the fields before the file.";
    }
    throw problem;
  }
  const file = head.file;
  if (file === null || file.name !== "file") {
    throw new ApiError("validation-error", "The form has no file (the part named file, last).", {
      errors: [{ pointer: "/file", detail: "the file, after the other fields" }],
    });
  }
  const length = Number(c.req.header("content-length") ?? Number.NaN);
  // What follows the file: CRLF, the closing delimiter and, from curl and browsers, a CRLF (taken
  // as there: the declared size is then at most the file's; the count catches the rest).
  const closing = `\r\n--${boundary}--\r\n`.length;
  const declaredBytes = Number.isFinite(length)
    ? Math.max(0, length - file.offset - closing)
    : null;
  const row = await media.uploadMedia(c.env, c.get("caller"), params.data.app_id, {
    type: fields.data.type,
    permanent: fields.data.permanent,
    title: fields.data.title,
    introduction: fields.data.introduction,
    file: {
      filename: file.filename,
      contentType: file.contentType,
      stream: file.stream,
      declaredBytes,
    },
  });
  return c.json(presentMedia(row), 201);
};

export const listMedia: RouteHandler<typeof routes.listMedia, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  const page = await media.listMedia(c.env, c.get("caller"), c.req.valid("param").app_id, query);
  return c.json({ data: page.data.map(presentMedia), next_cursor: page.nextCursor }, 200);
};

export const deleteMedia: RouteHandler<typeof routes.deleteMedia, AppEnv> = async (c) => {
  const { app_id, id } = c.req.valid("param");
  await media.deleteMedia(c.env, c.get("caller"), app_id, id);
  return c.body(null, 204);
};
