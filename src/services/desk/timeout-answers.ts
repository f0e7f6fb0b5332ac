/**
 * The desk's automatic sends. The satisfaction question after a resolution (when the desk's
 * `satisfaction_survey` is on): `satisfaction_question`, or the default in the tenant's language,
 * once per resolving move, unless the conversation moved on meanwhile. And the automatic answer of a conversation that waited in the queue past the tenant's
 * `max_queue_seconds` (the desk's object moved it to a left message and enqueued a
 * `desk_answer` job on INBOUND_QUEUE): the tenant's `no_agent_answer`, through the conversation's
 * channel (SMS, or a WeChat customer-service message while the follower's window is open), once:
 * the send's idempotency key is made from the move, so a redelivered job sends nothing twice.
 * Nothing is sent when the desk is off or the conversation has left the left messages meanwhile
 * (an agent took it).
 */
import { z } from "zod";
import { defaultSatisfactionQuestion } from "../../domain/inspection";
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
  /** Absent on the jobs made before the satisfaction question: the no-agent answer. */
  answer: z.enum(["no_agent", "satisfaction"]).default("no_agent"),
});
export type DeskAnswerJobBody = z.input<typeof deskAnswerJobSchema>;

export type TimeoutAnswer =
  | { sent: true; messageId: string; replayed: boolean }
  | { sent: false; reason: string };

export function timeoutAnswerKey(job: DeskAnswerJobBody): string {
  return job.answer === "satisfaction"
    ? `desk-satisfaction:${job.conversation_id}:${job.version}`
    : `desk-timeout:${job.conversation_id}:${job.version}`;
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
  const satisfaction = job.answer === "satisfaction";
  if (satisfaction && !settings.satisfactionSurvey) {
    return { sent: false, reason: "the satisfaction survey is off" };
  }
  const caller = await tenantCaller(env, job.tenant_id);
  try {
    const conversation = await getConversation(env, caller, job.conversation_id);
    const expected = satisfaction ? "resolved" : "left_message";
    if (conversation.deskState !== expected || conversation.deskVersion > job.version) {
      return { sent: false, reason: `the conversation is ${conversation.deskState} now` };
    }
    const reply = await replyInConversation(
      env,
      caller,
      conversation.id,
      satisfaction
        ? (settings.satisfactionQuestion ?? defaultSatisfactionQuestion(caller.tenant.homeCountry))
        : settings.noAgentAnswer,
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
