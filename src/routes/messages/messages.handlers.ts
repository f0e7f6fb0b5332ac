import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import type { Caller } from "../../domain/caller";
import { acceptAutoMessage } from "../../services/messaging/best-channel";
import * as cancel from "../../services/messaging/cancel";
import * as reads from "../../services/messaging/message-reads";
import * as sending from "../../services/messaging/messages";
import { redactMessageBody as redact } from "../../services/messaging/redaction";
import { acceptWeChatMessage } from "../../services/wechat/messages";
import { exportResponse } from "./messages.export";
import type * as routes from "./messages.routes";
import { filtersOf } from "./messages.routes";
import type { SendMessageInput } from "./messages.schemas";
import { present } from "./messages.view";

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
  c.set("messageId", message.id);
  c.header("Location", `/v1/messages/${message.id}`);
  return c.json(message, 202);
};

export const getMessage: RouteHandler<typeof routes.getMessage, AppEnv> = async (c) => {
  c.set("messageId", c.req.valid("param").id);
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
    ...filtersOf(query),
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
  c.set("messageId", c.req.valid("param").id);
  const message = await cancel.cancelMessage(c.env, caller, c.req.valid("param").id);
  return c.json(present(message, caller.tenant.currency), 200);
};

export const exportMessages: RouteHandler<typeof routes.exportMessages, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  return exportResponse(c.env, c.get("caller"), filtersOf(query), {
    format: query.format,
    bom: query.bom,
  });
};

export const redactMessageBody: RouteHandler<typeof routes.redactMessageBody, AppEnv> = async (
  c,
) => {
  const caller = c.get("caller");
  c.set("messageId", c.req.valid("param").id);
  const message = await redact(c.env, caller, c.req.valid("param").id);
  return c.json(present(message, caller.tenant.currency), 200);
};
