import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as media from "../../services/wechat/media";
import { iso } from "../common";
import type * as routes from "./wechat-media.routes";

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

export const uploadMedia: RouteHandler<typeof routes.uploadMedia, AppEnv> = async (c) => {
  const form = c.req.valid("form");
  const row = await media.uploadMedia(c.env, c.get("caller"), c.req.valid("param").app_id, {
    type: form.type,
    permanent: form.permanent,
    file: form.file,
    title: form.title,
    introduction: form.introduction,
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
