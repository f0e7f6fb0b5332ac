/**
 * A message with an SMS fallback (`channel: "auto"`: WeChat first, its SMS part kept in its
 * payload, domain/wechat-payload.ts) becomes that SMS when WeChat refuses it for good, when its
 * quota is used up for the day, or when its retries run out, unless an attempt may have reached
 * WeChat (no answer came): the design never sends on a second channel blindly. Its WeChat
 * attempts are half the budget, so the SMS, which continues the message's attempt count, keeps
 * the rest for its own retries. The SMS is not sent from here: the consumer reports WeChat's
 * outcome with the SMS, and the tenant's dispatcher releases it like any other message, behind
 * the phone's earlier messages and at the tenant's rate.
 */
import type { SendOutcome } from "../channels/adapter";
import type { Settings } from "../config/settings";
import type { MessageRow } from "../db/message-log";
import { outboxMessageOfLogged } from "../delivery/dispatcher-types";
import { switchToSms } from "../delivery/status-writer";
import type { SmsFallback } from "../domain/wechat-payload";
import { createLogger } from "../lib/log";
import { retryDelay, type Sent } from "./attempt-outcomes";

/** The attempts a message with a fallback makes before its SMS goes instead. */
export function beforeFallback(settings: Settings): Settings {
  return { ...settings, MAX_ATTEMPTS: Math.ceil(settings.MAX_ATTEMPTS / 2) };
}

/**
 * The settled attempt (`result`, settled with `beforeFallback`'s budget when it failed) of a
 * message with a fallback, switched to its SMS, at once, when WeChat gives up on it: the queue
 * message is acked and its report hands the SMS to the dispatcher.
 */
export async function fallBackWhenRefused(
  db: D1Database,
  message: MessageRow,
  fallback: SmsFallback,
  provider: string,
  outcome: Extract<SendOutcome, { kind: "failed" }>,
  result: Sent,
  settings: Settings,
  deps: { random?: () => number },
  now: () => number,
): Promise<Sent> {
  const givesUp =
    !outcome.retryable || outcome.quotaExhausted === true || result.change.kind === "failed";
  if (!givesUp) {
    return result;
  }
  const reason = `falling back to SMS after WeChat: ${outcome.reason}`;
  // The attempt is recorded again with the others, as a retry: the switch wrote it, the reason
  // and the claim's hand-over, and the retry's write, which needs our claim, changes nothing.
  const recorded = { ...result, change: { kind: "retry" as const, reason } };
  let switched: MessageRow | null;
  try {
    if (await mayHaveReached(db, message, provider)) {
      return {
        ...result,
        change: {
          kind: "failed",
          reason: `${outcome.reason}; no SMS sent: an earlier WeChat attempt got no answer and may have reached the user`,
        },
        verdict: { ack: true, report: { id: message.id, outcome: "final" } },
      };
    }
    switched = await switchToSms(db, result.attempt, fallback, reason, now());
  } catch (error) {
    // WeChat's answer is recorded either way; the next delivery tries WeChat, then this, again.
    createLogger(settings.LOG_LEVEL, { queue: "dispatch" }).error(
      "wechat: the SMS fallback could not be set up yet",
      { tenant_id: message.tenantId, message_id: message.id, provider, error },
    );
    switched = null;
  }
  if (switched === null) {
    // Not switched (D1 failed, or our claim had lapsed and another consumer holds the message).
    return {
      ...recorded,
      verdict: { ack: false, delaySeconds: retryDelay(message.attemptCount, settings, deps) },
    };
  }
  return {
    ...recorded,
    verdict: {
      ack: true,
      report: {
        id: message.id,
        outcome: "sms-fallback",
        message: outboxMessageOfLogged(switched, now()),
      },
    },
  };
}

/**
 * Whether an earlier attempt for the message with `provider` got no answer (it may have gone
 * through), including one whose consumer never recorded the answer. This attempt's own row,
 * written before the call, does not count.
 */
async function mayHaveReached(
  db: D1Database,
  message: MessageRow,
  provider: string,
): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT 1 AS found FROM message_attempts
       WHERE message_id = ? AND attempt < ? AND provider = ? AND outcome = 'unknown'
       LIMIT 1`,
    )
    .bind(message.id, message.attemptCount, provider)
    .first<{ found: number }>();
  return row !== null;
}
