/**
 * A WeChat delivery at the service desk (services/desk/intake has the rules): a follower's text
 * or a menu click the tenant names hands off before the robot; a message the robot has no answer
 * for hands off after it; a conversation with people keeps the robot quiet. A left message's
 * automatic answer is the passive reply (the follower has just written: same channel, no quota).
 */
import type { InboxRowValues } from "../../delivery/wechat-account";
import { newId } from "../../lib/ids";
import { deskAfterRobot, deskBeforeRobot, deskSettingsFor } from "../desk/intake";

export type DeskAnswer =
  /** The robot answers as the rules chose. */
  | { kind: "robot" }
  /** No passive reply: people have it. */
  | { kind: "quiet" }
  | { kind: "answer"; content: string };

/** The follower's conversation (created on first contact, as the inbox copy would). */
async function conversationIdOf(env: Env, row: InboxRowValues): Promise<string> {
  const found = await env.DB.prepare(
    `INSERT INTO conversations (id, tenant_id, channel, counterpart, contact_id, last_message,
       last_activity_at, unread_count, created_at)
     VALUES (?1, ?2, 'wechat', ?3, NULL, NULL, ?4, 0, ?4)
     ON CONFLICT (tenant_id, channel, counterpart) DO UPDATE SET tenant_id = excluded.tenant_id
     RETURNING id`,
  )
    .bind(newId("cnv", row.receivedAt), row.tenantId, row.fromUser, row.receivedAt)
    .first<{ id: string }>();
  if (!found) {
    throw new Error("conversation not stored");
  }
  return found.id;
}

export async function deskAnswerOf(
  env: Env,
  row: InboxRowValues,
  robotAnswers: boolean,
): Promise<DeskAnswer> {
  const settings = await deskSettingsFor(env, row.tenantId, row.receivedAt);
  const click = row.msgType === "event" && row.event === "CLICK";
  if (!settings.enabled || (row.msgType === "event" && !click)) {
    return { kind: "robot" };
  }
  const text = row.msgType === "text" ? (row.fields.Content ?? "") : null;
  const inbound = {
    tenantId: row.tenantId,
    conversationId: await conversationIdOf(env, row),
    channel: "wechat",
    text,
    menuKey: click ? row.eventKey : null,
    message: {
      id: row.id,
      direction: "inbound",
      body: text ?? (click ? `[menu] ${row.eventKey ?? ""}` : `[${row.msgType}]`),
      at: new Date(row.receivedAt).toISOString(),
    },
    at: row.receivedAt,
  };
  let outcome = await deskBeforeRobot(env, inbound);
  if (outcome.kind === "none" && !robotAnswers && !click) {
    outcome = await deskAfterRobot(env, inbound, false);
  }
  if (outcome.kind === "handoff" && outcome.answer !== null) {
    return { kind: "answer", content: outcome.answer };
  }
  return outcome.kind === "none" || outcome.kind === "satisfaction"
    ? { kind: "robot" }
    : { kind: "quiet" };
}
