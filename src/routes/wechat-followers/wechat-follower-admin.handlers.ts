import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as admin from "../../services/wechat/follower-admin";
import * as jssdk from "../../services/wechat/jssdk";
import type * as routes from "./wechat-follower-admin.routes";

export const renameTag: RouteHandler<typeof routes.renameTag, AppEnv> = async (c) => {
  const { app_id, tag_id } = c.req.valid("param");
  const tag = await admin.renameTag(c.env, c.get("caller"), app_id, {
    id: tag_id,
    name: c.req.valid("json").name,
  });
  return c.json(tag, 200);
};

export const deleteTag: RouteHandler<typeof routes.deleteTag, AppEnv> = async (c) => {
  const { app_id, tag_id } = c.req.valid("param");
  await admin.deleteTag(c.env, c.get("caller"), app_id, tag_id);
  return c.body(null, 204);
};

export const setRemark: RouteHandler<typeof routes.setRemark, AppEnv> = async (c) => {
  const { app_id, openid } = c.req.valid("param");
  const done = await admin.setRemark(c.env, c.get("caller"), app_id, {
    openid,
    remark: c.req.valid("json").remark,
  });
  return c.json(done, 200);
};

export const addToBlacklist: RouteHandler<typeof routes.addToBlacklist, AppEnv> = async (c) => {
  const done = await admin.changeBlacklist(c.env, c.get("caller"), c.req.valid("param").app_id, {
    openids: c.req.valid("json").openids,
    action: "add",
  });
  return c.json(done, 200);
};

export const removeFromBlacklist: RouteHandler<typeof routes.removeFromBlacklist, AppEnv> = async (
  c,
) => {
  const done = await admin.changeBlacklist(c.env, c.get("caller"), c.req.valid("param").app_id, {
    openids: c.req.valid("json").openids,
    action: "remove",
  });
  return c.json(done, 200);
};

export const listBlacklist: RouteHandler<typeof routes.listBlacklist, AppEnv> = async (c) => {
  const page = await admin.listBlacklist(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("query").cursor,
  );
  return c.json({ data: page.openids, total: page.total, next_cursor: page.nextOpenid }, 200);
};

export const jssdkConfig: RouteHandler<typeof routes.jssdkConfig, AppEnv> = async (c) => {
  const config = await jssdk.jssdkConfig(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("query").url,
  );
  // Our casing; wx.config takes appId, timestamp, nonceStr and signature.
  return c.json(
    {
      app_id: config.appId,
      timestamp: config.timestamp,
      nonce_str: config.nonceStr,
      signature: config.signature,
      url: config.url,
    },
    200,
  );
};
