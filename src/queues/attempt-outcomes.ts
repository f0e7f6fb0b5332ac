/**
 * What an attempt's outcome means for its message and its queue message: the attempt's record,
 * the message's change and the verdict (ack, or retry after a delay).
 */
import type { SendOutcome } from "../channels/adapter";
import type { Settings } from "../config/settings";
import type { MessageRow } from "../db/message-log";
import type { SendResult } from "../delivery/dispatcher-types";
import type { OutcomeRecord } from "../delivery/status-writer";
import type { AttemptOutcome } from "../domain/vocabulary";
import { backoffSeconds } from "../lib/backoff";
import { newId } from "../lib/ids";
import type { Reconciliation } from "./reconcile";

export type Verdict =
  | { ack: true; report?: SendResult }
  | { ack: false; delaySeconds: number; report?: SendResult };

export interface Sent extends OutcomeRecord {
  verdict: Verdict;
  /** What the provider said when asked, before this attempt, about an unanswered one. */
  reconciliation?: Reconciliation;
}

/**
 * The attempt's record, the message's change and the queue verdict for a provider's outcome. A
 * retryable failure fails over to the next provider at once while there is one this round; no
 * answer (the message may have gone) waits and tries the same provider again.
 */
export function settle(
  message: MessageRow,
  claimId: string,
  provider: string,
  outcome: SendOutcome,
  startedAt: number,
  finishedAt: number,
  settings: Settings,
  deps: { random?: () => number },
  options: { failover: boolean },
): Sent {
  const latency = finishedAt - startedAt;
  const record = (outcomeOf: AttemptOutcome, reason: string | null) => ({
    attemptId: newId("att", finishedAt),
    claimId,
    messageId: message.id,
    tenantId: message.tenantId,
    attempt: message.attemptCount,
    provider,
    outcome: outcomeOf,
    reason,
    providerMessageId: null,
    latencyMs: latency,
    createdAt: finishedAt,
  });
  if (outcome.kind === "sent") {
    return {
      message,
      attempt: { ...record("sent", null), providerMessageId: outcome.providerMessageId },
      change: { kind: "sent", provider, providerMessageId: outcome.providerMessageId },
      verdict: { ack: true, report: { id: message.id, outcome: "sent" } },
    };
  }
  const retryable = outcome.kind === "unknown" || outcome.retryable;
  const reason = outcome.kind === "unknown" ? outcome.reason : `${outcome.code}: ${outcome.reason}`;
  const attempt = record(
    outcome.kind === "unknown" ? "unknown" : retryable ? "retryable" : "permanent",
    reason,
  );
  if (retryable && message.attemptCount < settings.MAX_ATTEMPTS) {
    const failover = outcome.kind === "failed" && options.failover;
    return {
      message,
      attempt,
      change: {
        kind: "retry",
        reason: failover
          ? `failing over after ${provider}: ${reason}`
          : `retrying after: ${reason}`,
      },
      verdict: {
        ack: false,
        delaySeconds: failover ? 0 : retryDelay(message.attemptCount, settings, deps),
      },
    };
  }
  const finalReason = retryable
    ? `gave up after ${message.attemptCount} attempts; last: ${reason}`
    : reason;
  return {
    message,
    attempt,
    change: { kind: "failed", reason: finalReason },
    verdict: { ack: true, report: { id: message.id, outcome: "final" } },
  };
}

export function retryDelay(
  attempt: number,
  settings: Settings,
  deps: { random?: () => number },
): number {
  return backoffSeconds(attempt, {
    baseSeconds: settings.RETRY_BASE_SECONDS,
    maxSeconds: settings.RETRY_MAX_SECONDS,
    random: deps.random,
  });
}
