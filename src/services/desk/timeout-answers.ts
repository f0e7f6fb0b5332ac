/**
 * The automatic answer of a conversation that waited in the queue past the tenant's
 * `max_queue_seconds` (the desk's object moved it to a left message and enqueued a
 * `desk_answer` job on INBOUND_QUEUE): the tenant's `no_agent_answer`, through the conversation's
 * channel (SMS, or a WeChat customer-service message while the follower's window is open), once:
 * the send's idempotency key is made from the move, so a redelivered job sends nothing twice.
 * Nothing is sent when the desk is off or the conversation has left the left messages meanwhile
 * (an agent took it).
 */
import { z } from "zod";
import { createLogger } from "../../lib/log";
import { ApiError } from "../../lib/problem";
import { getConversation } from "../conversations/conversations";
import { replyInConversation } from "../conversations/replies";
import { tenantCaller } from "../inbound/automatic-sends";
import { deskSettingsFor } from "./intake";

export const deskAnswerJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal("desk_answer"),
  tenant_id: z.string().min(1),
  conversation_id: z.string().min(1),
  version: z.number().int().nonnegative(),
});
export type DeskAnswerJobBody = z.infer<typeof deskAnswerJobSchema>;

export type TimeoutAnswer =
  | { sent: true; messageId: string; replayed: boolean }
  | { sent: false; reason: string };

export function timeoutAnswerKey(job: DeskAnswerJobBody): string {
  return `desk-timeout:${job.conversation_id}:${job.version}`;
}

/** Sends one job's answer; a refusal (no route, closed window) is an outcome, not an error. */
export async function answerTimedOut(
  env: Env,
  job: DeskAnswerJobBody,
  now: number = Date.now(),
): Promise<TimeoutAnswer> {
  const settings = await deskSettingsFor(env, job.tenant_id, now);
  if (!settings.enabled) {
    return { sent: false, reason: "the desk is off" };
  }
  const caller = await tenantCaller(env, job.tenant_id);
  try {
    const conversation = await getConversation(env, caller, job.conversation_id);
    if (conversation.deskState !== "left_message") {
      return { sent: false, reason: `the conversation is ${conversation.deskState} now` };
    }
    const reply = await replyInConversation(
      env,
      caller,
      conversation.id,
      settings.noAgentAnswer,
      timeoutAnswerKey(job),
      now,
    );
    return { sent: true, messageId: reply.message.id, replayed: reply.replayed };
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) {
      return { sent: false, reason: error.message };
    }
    throw error;
  }
}

/**
 * Takes the batch's desk answer jobs (each acked once answered, retried on a failure) and
 * returns the other messages.
 */
export async function consumeDeskAnswers(
  messages: readonly Message<unknown>[],
  env: Env,
): Promise<Message<unknown>[]> {
  const rest: Message<unknown>[] = [];
  for (const queued of messages) {
    const job = deskAnswerJobSchema.safeParse(queued.body);
    if (!job.success) {
      rest.push(queued);
      continue;
    }
    try {
      const outcome = await answerTimedOut(env, job.data);
      if (!outcome.sent) {
        createLogger(env.LOG_LEVEL, { queue: "inbound" }).warn("desk: no timeout answer", {
          conversation_id: job.data.conversation_id,
          reason: outcome.reason,
        });
      }
      queued.ack();
    } catch (error) {
      createLogger(env.LOG_LEVEL, { queue: "inbound" }).error(
        "desk: timeout answer failed, will retry",
        { conversation_id: job.data.conversation_id, error },
      );
      queued.retry({ delaySeconds: 5 });
    }
  }
  return rest;
}
