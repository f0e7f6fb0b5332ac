/**
 * The auto-reply stage: an inbound SMS matching one of the tenant's keyword rules gets that rule's
 * reply, at most one per inbound message, sent through the normal send service with an
 * idempotency key from the inbound id (a second run replays the first send, never a second one).
 * Two robots answering each other stop here: a number that got 3 automatic replies in the hour
 * before this message gets no more until the hour has passed. A reply no provider routed to the
 * number could send (Aliyun and Tencent without the template's code) is skipped, and why is
 * recorded in `handling.auto_reply`. A keyword query rule asks the tenant's endpoint first and sends
 * its answer's text (nothing for a 204); the endpoint is asked again only if the stage runs again
 * before its reply was recorded.
 */
import { and, count, eq, gt, isNotNull, ne } from "drizzle-orm";
import { database } from "../../db/client";
import { inboundMessages } from "../../db/schema";
import type { InboundRow } from "../../delivery/inbound-store";
import { outgoingIdOf, sendToVisitor } from "../../delivery/webchat";
import { chooseReply } from "../../domain/auto-replies";
import { newId } from "../../lib/ids";
import { type Fetch, networkFetch } from "../../lib/outbound-fetch";
import { askEndpoint } from "../webhooks/queries";
import { recordQuery, statusOf } from "../webhooks/query-log";
import { smsRules } from "./auto-reply-rules";
import { sendAutomatic, unsendableReason } from "./automatic-sends";
import { replyClock } from "./reply-clock";
import type { InboundStage, StageOutcome } from "./stage";

/** Automatic replies one number may get in an hour. */
export const AUTO_REPLIES_PER_HOUR = 3;
const HOUR_MS = 60 * 60 * 1000;

export type AutoReplyResult =
  | { rule_id: string; message_id: string }
  | {
      rule_id: string;
      skipped: "loop_guard" | "unsendable" | "refused" | "no_reply";
      reason: string;
    };

/** The idempotency key of the reply to an inbound message. */
export const autoReplyKey = (inboundId: string) => `auto-reply:${inboundId}`;

async function repliesInHourBefore(env: Env, message: InboundRow): Promise<number> {
  const row = await database(env.DB)
    .select({ n: count() })
    .from(inboundMessages)
    .where(
      and(
        eq(inboundMessages.tenantId, message.tenantId),
        eq(inboundMessages.sender, message.sender),
        gt(inboundMessages.receivedAt, message.receivedAt - HOUR_MS),
        isNotNull(inboundMessages.autoReplyMessageId),
        ne(inboundMessages.id, message.id),
      ),
    )
    .get();
  return row?.n ?? 0;
}

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * A keyword query's answer from the tenant's endpoint (services/webhooks/queries): the text to
 * send, or null for none (204, or a failure, whose reason is returned).
 */
async function askedText(
  env: Env,
  message: InboundRow,
  rule: { id: string; endpointId: string },
  fetch: Fetch,
  now: number,
): Promise<{ text: string | null; failure?: string }> {
  const { endpointId } = rule;
  const id = newId("qry", message.receivedAt);
  const askedAt = Date.now();
  const answer = await askEndpoint(
    env,
    message.tenantId,
    endpointId,
    {
      id,
      channel: "sms",
      from: message.sender,
      text: message.body,
      conversation_id: message.conversationId,
      received_at: new Date(message.receivedAt).toISOString(),
    },
    fetch,
    now,
  );
  await recordQuery(env, {
    id,
    tenantId: message.tenantId,
    ruleId: rule.id,
    channel: "sms",
    appId: null,
    endpointId,
    ...statusOf(answer),
    latencyMs: Date.now() - askedAt,
    askedAt,
  });
  return answer.ok ? { text: answer.reply } : { text: null, failure: answer.reason };
}

async function reply(
  env: Env,
  message: InboundRow,
  now: number,
  fetch: Fetch,
): Promise<StageOutcome> {
  if (message.channel === "webchat") {
    return replyOverWebchat(env, message, now);
  }
  if (message.channel !== "sms") {
    // WeChat's keyword replies are its webhook's passive answers.
    return {};
  }
  if (message.autoReplyMessageId) {
    // Replied already: the row says so (a stale copy of the row gets the dispatcher's replay).
    return { result: message.handling.auto_reply ?? { message_id: message.autoReplyMessageId } };
  }
  const rules = await smsRules(env, message.tenantId, now);
  if (rules.length === 0) {
    return {};
  }
  const clock = await replyClock(env, message.tenantId, rules, message.receivedAt);
  const rule = chooseReply(rules, { kind: "text", text: message.body }, clock);
  if (!rule) {
    return {};
  }
  const skipped = (skip: "loop_guard" | "unsendable" | "refused" | "no_reply", reason: string) => ({
    result: { rule_id: rule.id, skipped: skip, reason } satisfies AutoReplyResult,
  });
  // This message's own reply is never counted, so a rerun that replays it is not refused.
  const replies = await repliesInHourBefore(env, message);
  if (replies >= AUTO_REPLIES_PER_HOUR) {
    return skipped(
      "loop_guard",
      `${message.sender} got ${replies} automatic replies in the hour before this message (at most ${AUTO_REPLIES_PER_HOUR})`,
    );
  }
  let asked: string | null = null;
  if (rule.reply.type === "query") {
    const answer = await askedText(
      env,
      message,
      { id: rule.id, endpointId: rule.reply.endpoint_id },
      fetch,
      now,
    );
    if (answer.failure !== undefined) {
      return skipped("refused", `the query endpoint: ${answer.failure}`);
    }
    if (answer.text === null) {
      return skipped("no_reply", "the query endpoint answered without a reply");
    }
    asked = answer.text;
  }
  const templateId = rule.reply.type === "template" ? rule.reply.template_id : null;
  const unsendable = await unsendableReason(env, message.tenantId, message.sender, templateId, now);
  if (unsendable) {
    return skipped("unsendable", unsendable);
  }
  const content =
    rule.reply.type === "template"
      ? { template_id: rule.reply.template_id, variables: rule.reply.variables ?? {} }
      : { body: rule.reply.type === "text" ? rule.reply.content : (asked ?? "") };
  const sent = await sendAutomatic(
    env,
    message.tenantId,
    {
      ...content,
      to: message.sender,
      ...(E164.test(message.recipient) ? { from: message.recipient } : {}),
      metadata: { inbound_id: message.id, auto_reply_rule_id: rule.id },
    },
    autoReplyKey(message.id),
    now,
  );
  if (!sent.sent) {
    return skipped("refused", sent.reason);
  }
  await database(env.DB)
    .update(inboundMessages)
    .set({ autoReplyMessageId: sent.messageId })
    .where(eq(inboundMessages.id, message.id));
  return { result: { rule_id: rule.id, message_id: sent.messageId } satisfies AutoReplyResult };
}

/**
 * A web chat visitor's message gets the text rules' answer over the socket (through the tenant's
 * hub, once per inbound id); a template or query rule has no text for a web page and is skipped.
 */
async function replyOverWebchat(env: Env, message: InboundRow, now: number): Promise<StageOutcome> {
  const rules = await smsRules(env, message.tenantId, now);
  if (rules.length === 0) {
    return {};
  }
  const clock = await replyClock(env, message.tenantId, rules, message.receivedAt);
  const rule = chooseReply(rules, { kind: "text", text: message.body }, clock);
  if (!rule) {
    return {};
  }
  if (rule.reply.type !== "text") {
    return {
      result: {
        rule_id: rule.id,
        skipped: "unsendable",
        reason: `a ${rule.reply.type} reply has no text to show on a web page`,
      } satisfies AutoReplyResult,
    };
  }
  const id = await outgoingIdOf(autoReplyKey(message.id), () => "");
  await sendToVisitor(env, message.tenantId, {
    id,
    counterpart: message.sender,
    body: rule.reply.content,
    from: "robot",
    at: now,
  });
  return { result: { rule_id: rule.id, message_id: id } satisfies AutoReplyResult };
}

/** The stage, asking query endpoints through `fetch` (tests pass a fake). */
export function autoReplyStageWith(fetch: Fetch = networkFetch): InboundStage {
  return { name: "auto_reply", run: (env, message) => reply(env, message, Date.now(), fetch) };
}

export const autoReplyStage: InboundStage = autoReplyStageWith();
