/**
 * One attempt of a claimed message, whatever its channel: the provider its plan names
 * (delivery-plan.ts) is called through the gathering sender, its circuit (if it has one) told how
 * it went, and the outcome settled; a message with an SMS fallback may become that SMS
 * (fallback.ts). A message no provider can take now waits without spending an attempt, one none
 * can ever take ends failed.
 */
import type { AdapterIO } from "../channels/adapter";
import type { OutboundAdapters, OutboundProvider } from "../channels/registry";
import type { Settings } from "../config/settings";
import type { MessageRow } from "../db/message-log";
import type { AttemptOutcome } from "../domain/vocabulary";
import { fallbackOf } from "../domain/wechat-payload";
import { newId } from "../lib/ids";
import { type Sent, settle } from "./attempt-outcomes";
import { breakerFor, type Plan } from "./delivery-plan";
import { beforeFallback, fallBackWhenRefused } from "./fallback";
import { reconcile } from "./reconcile";
import type { gatheringSender } from "./send-many";

/**
 * How long a message waits when every provider it may use has its circuit open: about the time a
 * circuit stays open, so the next look finds it half-open. Each wait is a queue retry: a provider
 * down for longer than the queue's retries last (max_retries × this) dead-letters the message,
 * which then ends `failed` saying so.
 */
const CIRCUIT_WAIT_SECONDS = 10;

export async function sendOne(
  db: D1Database,
  message: MessageRow,
  claimId: string,
  plan: Plan | undefined,
  adapters: OutboundAdapters,
  send: ReturnType<typeof gatheringSender>,
  io: AdapterIO,
  deps: { random?: () => number },
  settings: Settings,
): Promise<Sent> {
  const provider = plan?.provider ?? "none";
  const record = (
    at: number,
    latencyMs: number,
    outcome: AttemptOutcome,
    reason: string | null,
  ) => ({
    attemptId: newId("att", at),
    claimId,
    messageId: message.id,
    tenantId: message.tenantId,
    attempt: message.attemptCount,
    provider,
    outcome,
    reason,
    providerMessageId: null,
    latencyMs,
    createdAt: at,
  });
  if (!plan || plan.provider === null) {
    const reason = plan?.reason ?? "no provider could be chosen";
    if (plan && !plan.permanent) {
      // Nothing was called: wait for a circuit to half-open, without spending an attempt.
      return {
        message,
        attempt: record(io.now(), 0, "retryable", reason),
        change: { kind: "wait", reason: `waiting: ${reason}` },
        verdict: { ack: false, delaySeconds: CIRCUIT_WAIT_SECONDS },
      };
    }
    return {
      message,
      attempt: record(io.now(), 0, "permanent", reason),
      change: { kind: "failed", reason },
      verdict: { ack: true, report: { id: message.id, outcome: "final" } },
    };
  }
  const startedAt = io.now();
  const request = {
    messageId: message.id,
    tenantId: message.tenantId,
    to: message.recipient,
    from: message.sender,
    body: message.body,
    attempt: message.attemptCount,
    statusCallbackUrl: plan.statusCallbackUrl,
    template: plan.template,
    signName: plan.signName,
    payload: message.payload,
  };
  const lookup = reconcile(adapters[plan.provider], request, plan, plan.settings, io);
  // No lookup: no await either, so the sends of the batch still start in one turn (send-many.ts).
  const reconciliation = lookup ? await lookup : null;
  if (reconciliation?.kind === "found") {
    // The provider has it from an attempt whose answer never came: that attempt's send result.
    const foundAt = io.now();
    if (plan.ticket) {
      breakerFor(message.tenantId, plan.provider).record(plan.ticket, true, foundAt);
    }
    const found = settle(
      message,
      claimId,
      plan.provider,
      { kind: "sent", providerMessageId: reconciliation.providerMessageId },
      startedAt,
      foundAt,
      settings,
      deps,
      { failover: false },
    );
    const reason = `found at ${plan.provider} by a lookup: an earlier attempt had sent it`;
    return { ...found, attempt: { ...found.attempt, reason }, reconciliation };
  }
  const looked = reconciliation ? { reconciliation } : {};
  const outcome = await send(
    adapters[plan.provider],
    request,
    plan.settings,
    // Messages of one tenant with one provider template may go in one call.
    plan.template ? `${message.tenantId}:${plan.provider}:${plan.template.code}` : null,
  );
  const finishedAt = io.now();
  if (plan.ticket) {
    // A refusal is the provider working as it should; no answer or a retryable error is not.
    breakerFor(message.tenantId, plan.provider).record(
      plan.ticket,
      outcome.kind === "sent" || (outcome.kind === "failed" && !outcome.retryable),
      finishedAt,
    );
  }
  const fallback = fallbackOf(message);
  // Only definite refusals spend the shorter budget; no answer keeps the provider's full one.
  const refused = fallback !== null && outcome.kind === "failed";
  const result = settle(
    message,
    claimId,
    plan.provider,
    outcome,
    startedAt,
    finishedAt,
    refused ? beforeFallback(settings) : settings,
    deps,
    { failover: !plan.pinned && hasLaterCandidate(plan.candidates, plan.provider) },
  );
  if (fallback === null || outcome.kind !== "failed") {
    return { ...result, ...looked };
  }
  const fellBack = await fallBackWhenRefused(
    db,
    message,
    fallback,
    plan.provider,
    outcome,
    result,
    settings,
    deps,
    io.now,
  );
  return { ...fellBack, ...looked };
}

/** Whether another provider comes after `provider` this round (else the next try starts over). */
function hasLaterCandidate(
  candidates: readonly OutboundProvider[],
  provider: OutboundProvider,
): boolean {
  return candidates.indexOf(provider) < candidates.length - 1;
}
