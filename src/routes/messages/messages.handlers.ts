import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { fromMicros } from "../../domain/pricing";
import { smsFiguresOf } from "../../domain/segments";
import { acceptAutoMessage } from "../../services/messaging/best-channel";
import type { MessageRow } from "../../services/messaging/messages";
import * as service from "../../services/messaging/messages";
import { acceptWeChatMessage } from "../../services/wechat/messages";
import { iso } from "../common";
import type * as routes from "./messages.routes";

function present(row: MessageRow, currency: string, attempts?: service.AttemptRow[]) {
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
    currency,
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

/** The schema's refinement guarantees exactly one of body and template_id. */
function contentOf<T extends { body?: string; template_id?: string; variables?: Variables }>(
  input: T,
): T & service.ContentInput {
  const { body, template_id, variables } = input;
  return body !== undefined
    ? { ...input, body, template_id: undefined, variables: undefined }
    : { ...input, body: undefined, template_id: template_id ?? "", variables: variables ?? {} };
}

type Variables = Record<string, unknown>;

export const sendMessage: RouteHandler<typeof routes.sendMessage, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const key = c.req.valid("header")["idempotency-key"];
  const { replayed, message } =
    input.channel === "auto" && input.contact && input.app_id && input.wechat && input.sms
      ? await acceptAutoMessage(
          c.env,
          c.get("caller"),
          {
            contact: input.contact,
            app_id: input.app_id,
            wechat: input.wechat,
            sms: contentOf(input.sms),
            metadata: input.metadata,
            send_at: input.send_at,
          },
          key,
        )
      : input.channel === "wechat" && input.app_id && input.wechat
        ? await acceptWeChatMessage(
            c.env,
            c.get("caller"),
            { ...input, app_id: input.app_id, wechat: input.wechat },
            key,
          )
        : await service.acceptMessage(
            c.env,
            c.get("caller"),
            contentOf({ ...input, to: input.to ?? "" }),
            key,
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
  return c.json(present(message, c.get("caller").tenant.currency, attempts), 200);
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
  const { currency } = c.get("caller").tenant;
  return c.json(
    { data: page.data.map((row) => present(row, currency)), next_cursor: page.nextCursor },
    200,
  );
};

export const previewMessage: RouteHandler<typeof routes.previewMessage, AppEnv> = async (c) => {
  const preview = await service.previewMessage(
    c.env,
    c.get("caller"),
    contentOf(c.req.valid("json")),
  );
  return c.json(preview, 200);
};

export const cancelMessage: RouteHandler<typeof routes.cancelMessage, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const message = await service.cancelMessage(c.env, caller, c.req.valid("param").id);
  return c.json(present(message, caller.tenant.currency), 200);
};
