/**
 * The status writer's receipts (see delivery/status-writer.ts): a carrier's or WeChat's word on a
 * send, applied to its message, or held until the send is recorded.
 */
import {
  RECEIPT_CHANGE_COLUMNS,
  type ReceiptChange,
  rowStatements,
  statusIn,
} from "../../db/message-log";
import { guardFor } from "../../domain/status-machine";
import type { MessageStatus } from "../../domain/vocabulary";
import {
  changeEventInput,
  emitMessageEvents,
  eventChange,
  messageEvent,
  type SentMessage,
} from "../message-events";
import { EventRows, queueNewDeliveries } from "./events";

/** A receipt for a message found by its carrier id (or, for our own, by its send). */
export interface ReceiptToApply {
  message: SentMessage;
  /** The carrier's id for the message, where the receipt gives one. */
  providerMessageId: string | null;
  status: "delivered" | "undelivered";
  reason: string | null;
}

/**
 * Applies one tenant's receipts from one provider, with their events, in one D1 batch, each only
 * to a message whose send is recorded as that provider's (under the receipt's carrier id, where it
 * gives one): a receipt is the provider's word about its own send, not about whatever message it
 * names. A final status is never overwritten and `sent` only moves forward. The claim is left
 * alone: a receipt may arrive while the consumer that sent is still recording it. Says, receipt
 * by receipt, whether it changed its message (of two receipts for one message in one call, only
 * the first can).
 */
export async function applyReceipts(
  env: Env,
  sendLog: D1Database,
  owner: { tenantId: string; provider: string },
  receipts: readonly ReceiptToApply[],
  now: number,
): Promise<boolean[]> {
  const firstOf = new Map<string, number>();
  receipts.forEach((r, i) => {
    if (!firstOf.has(r.message.id)) {
      firstOf.set(r.message.id, i);
    }
  });
  const unique = [...firstOf.values()].map((i) => receipts[i]).filter((r) => r !== undefined);
  if (unique.length === 0) {
    return receipts.map(() => false);
  }
  const events = await EventRows.load(env.DB, [owner.tenantId], now);
  for (const r of unique) {
    const change = {
      status: r.status,
      reason: r.reason,
      provider: r.message.provider,
      providerMessageId: r.message.providerMessageId,
      at: now,
      sentAt: r.message.sentAt ?? now,
    };
    await events.announce(r.message, change, { status: r.status, at: now });
  }
  const writes = receiptStatements(sendLog, owner, unique, now);
  const announced = events.statements(sendLog);
  const results = await sendLog.batch<{ id: string }>([...writes, ...announced]);
  await queueNewDeliveries(env, results.slice(writes.length), sendLog);
  const changed = new Set(
    results.slice(0, writes.length).flatMap((r) => r.results.map((row) => row.id)),
  );
  return receipts.map((r, i) => firstOf.get(r.message.id) === i && changed.has(r.message.id));
}

/**
 * Holds receipts whose send was not found recorded, and in the same D1 batch applies those whose
 * send is recorded by now (`holdStatements`, below); their events follow the batch (the one
 * exception in delivery/status-writer.ts's contract). Says, receipt by receipt, whether it
 * changed its message (as `applyReceipts` does) and whether its send was found recorded (a
 * recorded one is no longer held: applied, or its message had moved on).
 */
export async function holdReceipts(
  env: Env,
  sendLog: D1Database,
  owner: { tenantId: string; provider: string },
  receipts: { providerMessageId: string; status: "delivered" | "undelivered"; reason?: string }[],
  now: number,
): Promise<{ changed: boolean[]; recorded: boolean[] }> {
  if (receipts.length === 0) {
    return { changed: [], recorded: [] };
  }
  const [, applied, settled] = await sendLog.batch<ReceiptChange & { provider_message_id: string }>(
    holdStatements(sendLog, owner, receipts, now),
  );
  const rows = applied?.results ?? [];
  await emitMessageEvents(
    env,
    rows.map((row) => messageEvent(changeEventInput(row), eventChange(row, now))),
    sendLog,
  );
  const changedIds = new Set(rows.map((row) => row.provider_message_id));
  const recordedIds = new Set((settled?.results ?? []).map((row) => row.provider_message_id));
  const firstOf = new Map<string, number>();
  receipts.forEach((r, i) => {
    if (!firstOf.has(r.providerMessageId)) {
      firstOf.set(r.providerMessageId, i);
    }
  });
  return {
    changed: receipts.map(
      (r, i) => firstOf.get(r.providerMessageId) === i && changedIds.has(r.providerMessageId),
    ),
    recorded: receipts.map((r) => recordedIds.has(r.providerMessageId)),
  };
}

/** `messages.status IN` the statuses a receipt finishes a message from (either verdict's). */
function receiptFrom(only?: MessageStatus[]): string {
  return `messages.${statusIn(guardFor("delivered", guardFor("undelivered", only)))}`;
}

/**
 * A WeChat "undelivered" for a message with an SMS fallback (`channel: "auto"`) is not applied:
 * that message is not finished but sent again as its SMS, through the tenant's dispatcher, which
 * the WeChatAccount that received the result asks (durable-objects/wechat-account/inbound-copy.ts).
 */
const NOT_A_FALLBACK = (receipt: string) => `NOT (${receipt}.status = 'undelivered'
  AND messages.channel = 'wechat' AND json_extract(messages.payload, '$.fallback') IS NOT NULL)`;

/**
 * Applies receipts to messages found by the caller, each only where the message's send is recorded
 * as the owner's (under the receipt's carrier id, where it gives one). Returns the ids changed.
 */
function receiptStatements(
  d1: D1Database,
  owner: { tenantId: string; provider: string },
  receipts: readonly {
    message: { id: string };
    status: string;
    reason: string | null;
    providerMessageId: string | null;
  }[],
  now: number,
): D1PreparedStatement[] {
  return rowStatements(
    d1,
    receipts.map((r) => [r.message.id, r.status, r.reason, r.providerMessageId]),
    { before: [now, now, now], after: [owner.tenantId, owner.provider] },
    (tuples) => `UPDATE messages SET status = v.column2, status_reason = v.column3,
      completed_at = ?, sent_at = COALESCE(sent_at, ?), updated_at = ?
      FROM (VALUES ${tuples}) AS v
      WHERE messages.id = v.column1 AND messages.tenant_id = ? AND messages.provider = ?
        AND (v.column4 IS NULL OR messages.provider_message_id = v.column4)
        AND ${receiptFrom()}
      RETURNING messages.id`,
  );
}

/**
 * Holds receipts whose send was not found recorded, and applies those whose send is recorded by
 * now. The consumer's record of a send applies what is held in its own batch
 * (`heldReceiptStatements`); D1 runs each batch as one transaction, so whichever of the two
 * commits second applies the receipt, and a send recorded between the caller's look-up and this
 * hold is not missed. The first receipt a tenant's provider holds for a carrier id wins; another
 * tenant's neither blocks nor finishes it. Three statements: the hold, the application (returning
 * each message it finished, as a ReceiptChange with its carrier id), and the release of the held
 * receipts whose send is recorded (returning their carrier ids).
 */
function holdStatements(
  d1: D1Database,
  owner: { tenantId: string; provider: string },
  receipts: { providerMessageId: string; status: "delivered" | "undelivered"; reason?: string }[],
  now: number,
): D1PreparedStatement[] {
  const list = JSON.stringify(
    receipts.map((r) => [r.providerMessageId, r.status, r.reason ?? null]),
  );
  const held = `pending_receipts.tenant_id = ?2 AND pending_receipts.provider = ?1
    AND pending_receipts.provider_message_id IN
      (SELECT json_extract(value, '$[0]') FROM json_each(?4))`;
  const recordedSend = `messages.tenant_id = pending_receipts.tenant_id
    AND messages.provider = pending_receipts.provider
    AND messages.provider_message_id = pending_receipts.provider_message_id`;
  const bound = [owner.provider, owner.tenantId, now, list];
  return [
    d1
      .prepare(
        `INSERT OR IGNORE INTO pending_receipts
           (provider, provider_message_id, tenant_id, status, reason, received_at)
         SELECT ?1, json_extract(value, '$[0]'), ?2, json_extract(value, '$[1]'),
           json_extract(value, '$[2]'), ?3
         FROM json_each(?4)`,
      )
      .bind(...bound),
    d1
      .prepare(
        `UPDATE messages SET status = pending_receipts.status,
           status_reason = pending_receipts.reason, completed_at = pending_receipts.received_at,
           sent_at = COALESCE(messages.sent_at, pending_receipts.received_at), updated_at = ?3
         FROM pending_receipts
         WHERE ${held} AND messages.tenant_id = ?2 AND ${recordedSend}
           AND ${receiptFrom()} AND ${NOT_A_FALLBACK("pending_receipts")}
         RETURNING ${RECEIPT_CHANGE_COLUMNS}`,
      )
      .bind(...bound),
    d1
      .prepare(
        `DELETE FROM pending_receipts
         WHERE ${held} AND EXISTS (SELECT 1 FROM messages WHERE ${recordedSend})
         RETURNING provider_message_id`,
      )
      .bind(...bound),
  ];
}

/**
 * Statements that apply held receipts to the sends being recorded, after the sends' own updates
 * in the same batch, and drop them; `at` is the record's time, which the change is written at.
 * Nothing when the batch recorded no send. Of a held receipt, only a recorded send's `sent` moves.
 */
export function heldReceiptStatements(
  d1: D1Database,
  sends: readonly {
    messageId: string;
    tenantId: string;
    provider: string;
    providerMessageId: string;
    at: number;
  }[],
): D1PreparedStatement[] {
  if (sends.length === 0) {
    return [];
  }
  const list = JSON.stringify(
    sends.map((s) => [s.messageId, s.provider, s.providerMessageId, s.tenantId, s.at]),
  );
  return [
    d1
      .prepare(
        `UPDATE messages SET status = p.status, status_reason = p.reason,
           completed_at = p.received_at, updated_at = s.value ->> 4
         FROM pending_receipts AS p, json_each(?1) AS s
         WHERE messages.id = s.value ->> 0
           AND p.tenant_id = messages.tenant_id AND p.provider = messages.provider
           AND p.provider_message_id = messages.provider_message_id
           AND ${receiptFrom(["sent"])}
           AND ${NOT_A_FALLBACK("p")}`,
      )
      .bind(list),
    d1
      .prepare(
        `DELETE FROM pending_receipts WHERE (tenant_id, provider, provider_message_id) IN
           (SELECT json_extract(value, '$[3]'), json_extract(value, '$[1]'),
              json_extract(value, '$[2]') FROM json_each(?1))`,
      )
      .bind(list),
  ];
}
