/**
 * Replying in a conversation: the reply is an ordinary message, accepted by the same path as
 * POST /v1/messages (so routes, limits, logs, statistics and the opt-out checks see it), then
 * recorded as the conversation's last message. SMS goes to the counterpart through the tenant's
 * routes; WeChat goes as a customer-service text message through the app the follower last wrote
 * to, inside the window their interaction opened, and is refused with a 422 when it is closed.
 */
import type { AcceptedMessage } from "../../delivery/dispatcher-types";
import { outgoingIdOf, sendToVisitor } from "../../delivery/webchat";
import type { Caller } from "../../domain/caller";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { withCurrentSettings } from "../accounts/tenants";
import { acceptMessage } from "../messaging/messages";
import { acceptWithinWindow } from "../wechat/messages";
import { type ConversationRow, getConversation, recordReply } from "./conversations";

export interface Reply {
  conversation: ConversationRow;
  message: AcceptedMessage;
  replayed: boolean;
}

/** The WeChat app a follower is reached through: the one their latest message came to. */
export async function appOfFollower(env: Env, conversation: ConversationRow): Promise<string> {
  const row = await env.DB.prepare(
    `SELECT app_id FROM (
       SELECT recipient AS app_id, received_at AS at FROM inbound_messages
       WHERE tenant_id = ?1 AND conversation_id = ?2
       UNION ALL
       SELECT app_id, last_interaction_at AS at FROM wechat_followers
       WHERE tenant_id = ?1 AND openid = ?3
     ) ORDER BY at DESC LIMIT 1`,
  )
    .bind(conversation.tenantId, conversation.id, conversation.counterpart)
    .first<{ app_id: string }>();
  if (!row) {
    throw new ApiError(
      "unprocessable-entity",
      `No WeChat app has heard from ${conversation.counterpart}, so there is none to reply through.`,
    );
  }
  return row.app_id;
}

async function acceptReply(
  env: Env,
  caller: Caller,
  conversation: ConversationRow,
  body: string,
  idempotencyKey: string | undefined,
  now: number,
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  if (conversation.channel === "sms") {
    return acceptMessage(env, caller, { to: conversation.counterpart, body }, idempotencyKey, now);
  }
  if (conversation.channel === "webchat") {
    return replyOverWebchat(env, caller, conversation, body, idempotencyKey, now);
  }
  const appId = await appOfFollower(env, conversation);
  const result = await withCurrentSettings(env, caller, (current) =>
    acceptWithinWindow(
      env,
      current,
      { app_id: appId, openid: conversation.counterpart, wechat: { type: "text", content: body } },
      idempotencyKey,
      now,
      null,
    ),
  );
  if (!result.ok) {
    throw new ApiError(
      "unprocessable-entity",
      `The WeChat customer-service window is closed for this conversation. ${result.detail} Send a template message instead (POST /v1/messages with wechat.type "template").`,
      {
        errors: [{ pointer: "/body", detail: "the follower's customer-service window is closed" }],
      },
    );
  }
  return result.accepted;
}

/**
 * A web chat reply goes over the visitor's socket through the tenant's hub, which keeps it until
 * the visitor is back if no socket is open; the same Idempotency-Key sends it once.
 */
async function replyOverWebchat(
  env: Env,
  caller: Caller,
  conversation: ConversationRow,
  body: string,
  idempotencyKey: string | undefined,
  now: number,
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  const id = await outgoingIdOf(
    idempotencyKey === undefined
      ? null
      : `reply:${caller.tenant.id}:${conversation.id}:${idempotencyKey}`,
    () => newId("wcm", now),
  );
  const sent = await sendToVisitor(env, caller.tenant.id, {
    id,
    counterpart: conversation.counterpart,
    body,
    from: "agent",
    at: now,
  });
  const at = new Date(now).toISOString();
  return {
    replayed: !sent.stored,
    message: {
      id,
      status: "queued",
      to: conversation.counterpart,
      segments: null,
      encoding: null,
      cost: 0,
      currency: caller.tenant.currency,
      send_at: at,
      created_at: at,
    },
  };
}

/** Sends `body` to the conversation's counterpart and records it on the conversation. */
export async function replyInConversation(
  env: Env,
  caller: Caller,
  id: string,
  body: string,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<Reply> {
  const conversation = await getConversation(env, caller, id);
  const { replayed, message } = await acceptReply(
    env,
    caller,
    conversation,
    body,
    idempotencyKey,
    now,
  );
  // A test key's reply goes only to the sandbox and only test keys see it in the thread: the
  // conversation's summary, which every key sees, stays as the live traffic left it.
  if (!replayed && caller.mode === "live") {
    await recordReply(env, conversation, { body, at: Date.parse(message.created_at) });
  }
  return { conversation, message, replayed };
}
