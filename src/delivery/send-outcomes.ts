/**
 * What follows once a provider's answer is in the D1 send log, whoever wrote it there: the dispatch
 * consumer, or the tenant's dispatcher that kept it while D1 was down for the consumer
 * (durable-objects/dispatcher/kept-outcomes.ts). Both announce it the same way, here.
 */
import {
  type AttemptChange,
  type AttemptRecord,
  applyReceipts,
  type MessageRow,
  type ReceiptChange,
  type ReceiptToApply,
} from "../db/message-log";
import { isTemplateMessage } from "../domain/wechat-payload";
import { changeEventInput, emitMessageEvents, eventChange, messageEvent } from "./message-events";

/** One attempt's outcome for its message, as the consumer settled it (queues/attempt-outcomes). */
export interface OutcomeRecord {
  message: MessageRow;
  attempt: AttemptRecord & { attemptId: string; claimId: string };
  change: AttemptChange;
}

/**
 * A WeChat customer-service message WeChat took is delivered (it has no receipt); the tenant's
 * webhooks hear `message.sent` or `message.failed`, then of any message a receipt that had beaten
 * the record finished (`finishedByHeldReceipts`, from `recordAttempts`).
 */
export async function announceOutcomes(
  env: Env,
  records: readonly OutcomeRecord[],
  finishedByHeldReceipts: readonly ReceiptChange[],
  now: number,
): Promise<void> {
  await deliveredOnSend(env, records, now);
  await emitMessageEvents(
    env,
    records.map(({ message, attempt, change }) =>
      change.kind === "sent"
        ? messageEvent(message, {
            status: "sent",
            reason: null,
            provider: change.provider,
            providerMessageId: change.providerMessageId,
            at: attempt.createdAt,
            sentAt: attempt.createdAt,
          })
        : change.kind === "failed"
          ? messageEvent(message, {
              status: "failed",
              reason: change.reason,
              // As the API shows it: the provider that took the message, so none for one that
              // failed (the one that refused it, if any, is in the message's attempts).
              provider: message.provider,
              providerMessageId: message.providerMessageId,
              at: attempt.createdAt,
            })
          : null,
    ),
  );
  // After `message.sent`: a receipt that beat the send's record finished these meanwhile.
  await emitMessageEvents(
    env,
    finishedByHeldReceipts.map((row) => messageEvent(changeEventInput(row), eventChange(row, now))),
  );
}

/**
 * A WeChat customer-service message WeChat accepted has reached the user (there is no receipt for
 * it, unlike a template message's job-finish event): it is delivered once recorded sent.
 */
async function deliveredOnSend(
  env: Env,
  records: readonly OutcomeRecord[],
  now: number,
): Promise<void> {
  const byTenant = new Map<string, ReceiptToApply[]>();
  for (const { message, change } of records) {
    if (message.channel === "wechat" && change.kind === "sent" && !isTemplateMessage(message)) {
      const list = byTenant.get(message.tenantId) ?? [];
      list.push({
        messageId: message.id,
        providerMessageId: change.providerMessageId,
        status: "delivered",
        reason: null,
      });
      byTenant.set(message.tenantId, list);
    }
  }
  for (const [tenantId, receipts] of byTenant) {
    await applyReceipts(env.DB, { tenantId, provider: "wechat" }, receipts, now);
  }
}
