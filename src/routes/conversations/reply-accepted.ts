import type { Context } from "hono";
import type { AppEnv } from "../../app-env";
import type { Reply } from "../../services/conversations/replies";

/**
 * The 202 of a reply in a conversation, as `POST /v1/conversations/{id}/messages` and the desk's
 * `POST /v1/conversations/{id}/reply` both answer it (a replay says so in its header).
 */
export function replyAccepted(c: Context<AppEnv>, body: string, reply: Reply) {
  const { conversation, message, replayed } = reply;
  if (replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(
    {
      id: message.id,
      direction: "outbound" as const,
      body,
      status: message.status,
      at: message.created_at,
      conversation_id: conversation.id,
      channel: conversation.channel,
      to: message.to,
      segments: message.segments,
      cost: message.cost,
      currency: message.currency,
    },
    202,
  );
}
