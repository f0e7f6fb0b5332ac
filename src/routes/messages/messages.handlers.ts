import type { RouteHandler } from "@hono/zod-openapi";
import type { MessageRow } from "../../db/message-log";
import type { AppEnv } from "../../middleware/context";
import * as service from "../../services/messages";
import { iso } from "../common";
import type * as routes from "./messages.routes";

function present(row: MessageRow, attempts?: service.AttemptRow[]) {
  return {
    id: row.id,
    channel: row.channel,
    status: row.status,
    status_reason: row.statusReason,
    to: row.recipient,
    from: row.sender,
    body: row.body,
    metadata: row.metadata,
    mode: row.mode,
    segments: row.segments,
    encoding: row.encoding,
    provider: row.provider,
    provider_message_id: row.providerMessageId,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
    sent_at: iso(row.sentAt),
    completed_at: iso(row.completedAt),
    ...(attempts
      ? {
          attempts: attempts.map((a) => ({
            attempt: a.attempt,
            provider: a.provider,
            outcome: a.outcome,
            reason: a.reason,
            provider_message_id: a.providerMessageId,
            latency_ms: a.latencyMs,
            created_at: new Date(a.createdAt).toISOString(),
          })),
        }
      : {}),
  };
}

export const sendMessage: RouteHandler<typeof routes.sendMessage, AppEnv> = async (c) => {
  const { replayed, message } = await service.acceptMessage(
    c.env,
    c.get("caller"),
    c.req.valid("json"),
    c.req.valid("header")["idempotency-key"],
  );
  if (replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  c.header("Location", `/v1/messages/${message.id}`);
  return c.json(message, 202);
};

export const getMessage: RouteHandler<typeof routes.getMessage, AppEnv> = async (c) => {
  const { message, attempts } = await service.getMessage(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
  );
  return c.json(present(message, attempts), 200);
};

export const listMessages: RouteHandler<typeof routes.listMessages, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  const page = await service.listMessages(c.env, c.get("caller"), {
    status: query.status,
    to: query.to,
    since: query.since ? Date.parse(query.since) : undefined,
    until: query.until ? Date.parse(query.until) : undefined,
    limit: query.limit,
    cursor: query.cursor,
  });
  return c.json({ data: page.data.map((row) => present(row)), next_cursor: page.nextCursor }, 200);
};
