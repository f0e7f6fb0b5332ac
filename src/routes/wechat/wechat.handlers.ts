import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as apps from "../../services/wechat/apps";
import * as replies from "../../services/wechat/auto-replies";
import { iso } from "../common";
import { once } from "../once";
import type * as routes from "./wechat.routes";

function presentApp(env: Env, row: apps.WeChatAppRow) {
  return {
    app_id: row.appId,
    mode: row.mode,
    api_base_url: row.apiBaseUrl,
    token_endpoint: row.tokenEndpoint,
    account_type: row.accountType,
    verified: row.verified,
    webhook_url: apps.webhookUrl(env, row.appId),
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

function presentRule(row: replies.AutoReplyRow) {
  return {
    id: row.id,
    match: row.match,
    keyword: row.keyword,
    reply: row.reply,
    priority: row.priority,
    active_window: row.activeWindow ?? null,
    created_at: new Date(row.createdAt).toISOString(),
  };
}

export const putApp: RouteHandler<typeof routes.putApp, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const { status, body } = await once(c, "POST /v1/wechat/apps", input, async () => {
    const { row, created } = await apps.putWeChatApp(c.env, c.get("caller"), input);
    return { status: created ? 201 : 200, body: presentApp(c.env, row) };
  });
  return status === 201 ? c.json(body, 201) : c.json(body, 200);
};

export const listApps: RouteHandler<typeof routes.listApps, AppEnv> = async (c) => {
  const rows = await apps.listWeChatApps(c.env, c.get("caller"));
  return c.json({ data: rows.map((row) => presentApp(c.env, row)), next_cursor: null }, 200);
};

export const getApp: RouteHandler<typeof routes.getApp, AppEnv> = async (c) => {
  const row = await apps.getWeChatApp(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json(presentApp(c.env, row), 200);
};

export const deleteApp: RouteHandler<typeof routes.deleteApp, AppEnv> = async (c) => {
  await apps.deleteWeChatApp(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.body(null, 204);
};

export const listAutoReplies: RouteHandler<typeof routes.listAutoReplies, AppEnv> = async (c) => {
  const rows = await replies.listAutoReplies(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json({ data: rows.map(presentRule), next_cursor: null }, 200);
};

export const createAutoReply: RouteHandler<typeof routes.createAutoReply, AppEnv> = async (c) => {
  const { app_id } = c.req.valid("param");
  const input = c.req.valid("json");
  const { body } = await once(
    c,
    `POST /v1/wechat/apps/${app_id}/auto-replies`,
    input,
    async () => ({
      status: 201,
      body: presentRule(await replies.createAutoReply(c.env, c.get("caller"), app_id, input)),
    }),
  );
  return c.json(body, 201);
};

export const deleteAutoReply: RouteHandler<typeof routes.deleteAutoReply, AppEnv> = async (c) => {
  const { app_id, id } = c.req.valid("param");
  await replies.deleteAutoReply(c.env, c.get("caller"), app_id, id);
  return c.body(null, 204);
};

export const listInbox: RouteHandler<typeof routes.listInbox, AppEnv> = async (c) => {
  const page = await replies.listInbox(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("query"),
  );
  return c.json(
    {
      data: page.data.map((row) => ({
        id: row.id,
        msg_type: row.msgType,
        event: row.event,
        event_key: row.eventKey,
        from_user: row.fromUser,
        to_user: row.toUser,
        create_time: new Date(row.createTime * 1000).toISOString(),
        fields: row.fields,
        reply: row.reply ?? null,
        received_at: iso(row.receivedAt) ?? "",
      })),
      next_cursor: page.nextCursor,
    },
    200,
  );
};
