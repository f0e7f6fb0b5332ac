import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/inbound/inbound-reads";
import type { InboundRow } from "../../services/inbound/stage";
import type * as routes from "./inbound.routes";

function present(row: InboundRow) {
  return {
    id: row.id,
    channel: row.channel,
    from: row.sender,
    to: row.recipient,
    body: row.body,
    conversation_id: row.conversationId,
    provider: row.provider,
    provider_message_id: row.providerMessageId,
    handling: row.handling,
    received_at: new Date(row.receivedAt).toISOString(),
  };
}

export const listInbound: RouteHandler<typeof routes.listInbound, AppEnv> = async (c) => {
  const { since, until, ...query } = c.req.valid("query");
  const page = await service.listInbound(c.env, c.get("caller"), {
    ...query,
    ...(since ? { since: Date.parse(since) } : {}),
    ...(until ? { until: Date.parse(until) } : {}),
  });
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getInbound: RouteHandler<typeof routes.getInbound, AppEnv> = async (c) => {
  const row = await service.getInbound(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(row), 200);
};
