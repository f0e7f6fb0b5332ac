/**
 * The forwarding stage: an inbound message matching a forwarding rule of its tenant is copied to
 * the rule's target, every matching rule once. A phone gets an SMS `[from <sender>] <text>` through
 * the tenant's route (idempotency key from the inbound id and the rule id); an endpoint gets the
 * `inbound.received` event (the event's id follows from the inbound id, and a delivery exists once
 * per event and endpoint), whether or not it subscribed to it. Running the stage again sends
 * nothing twice.
 */

import { type InboundRow, inboundEventData } from "../../delivery/inbound-store";
import { emitEventTo } from "../../delivery/webhook-events";
import { keywordMatches, normalKeywordText } from "../../domain/auto-replies";
import { sendAutomatic, unsendableReason } from "./automatic-sends";
import { tenantForwardingRules } from "./forwarding-rules";
import type { InboundStage, StageOutcome } from "./stage";

export type ForwardResult = {
  rule_id: string;
  target_type: "phone" | "webhook";
  target: string;
} & ({ message_id: string } | { delivered: true } | { skipped: string });

/** The idempotency key of the copy of an inbound message a rule sends to a phone. */
export const forwardKey = (inboundId: string, ruleId: string) => `forward:${inboundId}:${ruleId}`;

async function forward(env: Env, message: InboundRow, now: number): Promise<StageOutcome> {
  const rules = await tenantForwardingRules(env, message.tenantId, now);
  const text = normalKeywordText(message.body);
  const matching = rules.filter((rule) => keywordMatches(rule.match, rule.keyword, text));
  if (matching.length === 0) {
    return {};
  }
  const results: ForwardResult[] = [];
  for (const rule of matching) {
    const about = { rule_id: rule.id, target_type: rule.targetType, target: rule.target };
    if (rule.targetType === "webhook") {
      const delivered = await emitEventTo(
        env,
        {
          type: "inbound.received",
          tenantId: message.tenantId,
          messageId: message.id,
          occurredAt: message.receivedAt,
          data: inboundEventData(message),
        },
        rule.target,
        now,
      );
      results.push(
        delivered ? { ...about, delivered: true } : { ...about, skipped: "the endpoint is gone" },
      );
      continue;
    }
    const unsendable = await unsendableReason(env, message.tenantId, rule.target, null, now);
    if (unsendable) {
      results.push({ ...about, skipped: unsendable });
      continue;
    }
    const sent = await sendAutomatic(
      env,
      message.tenantId,
      {
        body: `[from ${message.sender}] ${message.body}`,
        to: rule.target,
        metadata: { inbound_id: message.id, forwarding_rule_id: rule.id },
      },
      forwardKey(message.id, rule.id),
      now,
    );
    results.push(
      sent.sent ? { ...about, message_id: sent.messageId } : { ...about, skipped: sent.reason },
    );
  }
  return { result: results };
}

export const forwardingStage: InboundStage = {
  name: "forwarded",
  run: (env, message) => forward(env, message, Date.now()),
};
