import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import type { DeskState } from "../../domain/desk";
import * as service from "../../services/conversations/conversations";
import { replyInConversation } from "../../services/conversations/replies";
import { threadOf } from "../../services/conversations/thread";
import { serviceWindowOf } from "../../services/desk/desk";
import type * as routes from "./conversations.routes";
import { replyAccepted } from "./reply-accepted";

function present(row: service.ConversationRow) {
  return {
    id: row.id,
    channel: row.channel,
    counterpart: row.counterpart,
    contact_id: row.contactId,
    last_message: row.lastMessage
      ? {
          direction: row.lastMessage.direction,
          body: row.lastMessage.body,
          at: new Date(row.lastMessage.at).toISOString(),
        }
      : null,
    last_activity_at: new Date(row.lastActivityAt).toISOString(),
    unread_count: row.unreadCount,
    created_at: new Date(row.createdAt).toISOString(),
    desk_state: row.deskState,
    agent_id: row.agentId,
    skill: row.skill,
    due_at: row.dueAt === null ? null : new Date(row.dueAt).toISOString(),
    satisfaction: row.satisfaction,
  };
}

export const listConversations: RouteHandler<typeof routes.listConversations, AppEnv> = async (
  c,
) => {
  const query = c.req.valid("query");
  const page = await service.listConversations(c.env, c.get("caller"), {
    limit: query.limit,
    cursor: query.cursor,
    channel: query.channel,
    deskStates: query.desk_state?.split(",") as DeskState[] | undefined,
    agentId: query.agent_id,
    since: query.since ? Date.parse(query.since) : undefined,
  });
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getConversation: RouteHandler<typeof routes.getConversation, AppEnv> = async (c) => {
  const row = await service.getConversation(c.env, c.get("caller"), c.req.valid("param").id);
  const window = await serviceWindowOf(c.env, row);
  return c.json(
    {
      ...present(row),
      service_window: window && {
        open: window.open,
        expires_at: window.expiresAt === null ? null : new Date(window.expiresAt).toISOString(),
      },
    },
    200,
  );
};

export const listConversationMessages: RouteHandler<
  typeof routes.listConversationMessages,
  AppEnv
> = async (c) => {
  const caller = c.get("caller");
  const conversation = await service.getConversation(c.env, caller, c.req.valid("param").id);
  const page = await threadOf(c.env, caller, conversation, c.req.valid("query"));
  return c.json(
    {
      data: page.data.map((item) => ({
        id: item.id,
        direction: item.direction,
        body: item.body,
        status: item.status,
        at: new Date(item.at).toISOString(),
      })),
      next_cursor: page.nextCursor,
    },
    200,
  );
};

export const sendConversationMessage: RouteHandler<
  typeof routes.sendConversationMessage,
  AppEnv
> = async (c) => {
  const { body } = c.req.valid("json");
  const reply = await replyInConversation(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    body,
    c.req.valid("header")["idempotency-key"],
  );
  return replyAccepted(c, body, reply);
};

export const markConversationRead: RouteHandler<
  typeof routes.markConversationRead,
  AppEnv
> = async (c) => {
  const row = await service.markConversationRead(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(row), 200);
};
