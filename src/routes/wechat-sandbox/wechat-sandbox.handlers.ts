import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as sandbox from "../../services/wechat/sandbox";
import type * as routes from "./wechat-sandbox.routes";

export const followerMessage: RouteHandler<typeof routes.followerMessage, AppEnv> = async (c) => {
  const result = await sandbox.followerSends(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("json"),
  );
  return c.json(result, 200);
};

export const followerScan: RouteHandler<typeof routes.followerScan, AppEnv> = async (c) => {
  const result = await sandbox.followerScans(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("json"),
  );
  return c.json(result, 200);
};

export const listReceived: RouteHandler<typeof routes.listReceived, AppEnv> = async (c) => {
  const messages = await sandbox.receivedBySandbox(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("query").limit,
  );
  const data = messages.map((m) => ({
    kind: m.kind,
    msg_id: m.msgId,
    openid: m.openid,
    content: JSON.parse(m.content) as unknown,
    received_at: new Date(m.receivedAt).toISOString(),
  }));
  return c.json({ data, next_cursor: null }, 200);
};

export const putSettings: RouteHandler<typeof routes.putSettings, AppEnv> = async (c) => {
  const { app_id } = c.req.valid("param");
  const count = await sandbox.setSandboxFollowers(
    c.env,
    c.get("caller"),
    app_id,
    c.req.valid("json").followers_count,
  );
  return c.json({ app_id, followers_count: count }, 200);
};
