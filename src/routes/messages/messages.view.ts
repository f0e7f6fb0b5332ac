/** A message as the API shows it: the list, one message, the export and the events agree. */
import { fromMicros } from "../../domain/pricing";
import { smsFiguresOf } from "../../domain/segments";
import type * as reads from "../../services/messaging/message-reads";
import { iso } from "../common";

/** A row logged before the send log kept each message's currency shows the tenant's. */
export function present(
  row: reads.MessageRow,
  tenantCurrency: string,
  attempts?: reads.AttemptRow[],
) {
  return {
    id: row.id,
    channel: row.channel,
    status: row.status,
    status_reason: row.statusReason,
    to: row.recipient,
    from: row.sender,
    body: row.body,
    metadata: row.metadata,
    mode: row.mode,
    ...smsFiguresOf(row),
    kind: row.kind,
    template_id: row.templateId,
    template_version: row.templateVersion,
    batch_id: row.batchId,
    cost: fromMicros(row.costMicros),
    currency: row.currency ?? tenantCurrency,
    provider: row.provider,
    provider_message_id: row.providerMessageId,
    // A row logged by a Worker from before the column: it was due when accepted.
    send_at: new Date(row.sendAt ?? row.createdAt).toISOString(),
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
    sent_at: iso(row.sentAt),
    completed_at: iso(row.completedAt),
    ...(attempts
      ? {
          attempts: attempts.map((a) => ({
            attempt: a.attempt,
            provider: a.provider,
            outcome: a.outcome,
            reason: a.reason,
            provider_message_id: a.providerMessageId,
            latency_ms: a.latencyMs,
            created_at: new Date(a.createdAt).toISOString(),
          })),
        }
      : {}),
  };
}
