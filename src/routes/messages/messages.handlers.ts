import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import type { Caller } from "../../domain/caller";
import { fromMicros } from "../../domain/pricing";
import { smsFiguresOf } from "../../domain/segments";
import { acceptAutoMessage } from "../../services/messaging/best-channel";
import * as cancel from "../../services/messaging/cancel";
import * as reads from "../../services/messaging/message-reads";
import * as sending from "../../services/messaging/messages";
import { acceptWeChatMessage } from "../../services/wechat/messages";
import { iso } from "../common";
import type * as routes from "./messages.routes";
import type { SendMessageInput } from "./messages.schemas";

/** A row logged before the send log kept each message's currency shows the tenant's. */
function present(row: reads.MessageRow, tenantCurrency: string, attempts?: reads.AttemptRow[]) {
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
    ...smsFiguresOf(row),
    kind: row.kind,
    template_id: row.templateId,
    template_version: row.templateVersion,
    batch_id: row.batchId,
    cost: fromMicros(row.costMicros),
    currency: row.currency ?? tenantCurrency,
    provider: row.provider,
    provider_message_id: row.providerMessageId,
    // A row logged by a Worker from before the column: it was due when accepted.
    send_at: new Date(row.sendAt ?? row.createdAt).toISOString(),
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

/** Each channel's body goes to the service that sends by that channel. */
function acceptByChannel(
  env: Env,
  caller: Caller,
  input: SendMessageInput,
  idempotencyKey: string | undefined,
) {
  switch (input.channel) {
    case "auto":
      return acceptAutoMessage(env, caller, input, idempotencyKey);
    case "wechat":
      return acceptWeChatMessage(env, caller, input, idempotencyKey);
    default:
      return sending.acceptMessage(env, caller, input, idempotencyKey);
  }
}

export const sendMessage: RouteHandler<typeof routes.sendMessage, AppEnv> = async (c) => {
  const { replayed, message } = await acceptByChannel(
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
  const { message, attempts } = await reads.getMessage(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
  );
  return c.json(present(message, c.get("caller").tenant.currency, attempts), 200);
};

export const listMessages: RouteHandler<typeof routes.listMessages, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  const page = await reads.listMessages(c.env, c.get("caller"), {
    status: query.status,
    to: query.to,
    since: query.since ? Date.parse(query.since) : undefined,
    until: query.until ? Date.parse(query.until) : undefined,
    limit: query.limit,
    cursor: query.cursor,
  });
  const { currency } = c.get("caller").tenant;
  return c.json(
    { data: page.data.map((row) => present(row, currency)), next_cursor: page.nextCursor },
    200,
  );
};

export const previewMessage: RouteHandler<typeof routes.previewMessage, AppEnv> = async (c) => {
  const preview = await sending.previewMessage(c.env, c.get("caller"), c.req.valid("json"));
  return c.json(preview, 200);
};

export const cancelMessage: RouteHandler<typeof routes.cancelMessage, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const message = await cancel.cancelMessage(c.env, caller, c.req.valid("param").id);
  return c.json(present(message, caller.tenant.currency), 200);
};
