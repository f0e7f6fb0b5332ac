/** Carrier delivery receipts: authenticated by the hook token, applied forward-only, in batches. */
import { and, eq, inArray } from "drizzle-orm";
import { type Receipt, ReceiptAuthError, ReceiptFormatError } from "../../channels/sms/adapter";
import { smsAdapters } from "../../channels/sms/registry";
import { settingsOf } from "../../config/settings";
import { type Database, database } from "../../db/client";
import { messages } from "../../db/schema";
import { forgetPlacement, placementOf, tenantSendLogs } from "../../db/send-log-partitions";
import { type SentMessage, sentMessageColumns } from "../../delivery/message-events";
import { readyProviders } from "../../delivery/provider-reads";
import { applyReceipts, holdReceipts, type ReceiptToApply } from "../../delivery/status-writer";
import { createLogger } from "../../lib/log";
import { ApiError } from "../../lib/problem";
import { type HookOwner, ownerOf } from "./hook-tokens";

export async function acceptStatusCallback(
  env: Env,
  provider: string,
  hookToken: string,
  request: Request,
  now: number = Date.now(),
): Promise<{ applied: number; ignored: number; held: number; unknown: number }> {
  const db = database(env.DB);
  const owner = await ownerOf(db, provider, hookToken, now);
  if (!owner) {
    throw new ApiError("not-found", "No such hook.");
  }
  const ready = (await readyProviders(env, owner.tenantId, now)).get(owner.provider);
  if (!ready) {
    throw new ApiError("not-found", "No such hook."); // disabled since the token was cached
  }
  // Signatures are over the URL the carrier was given: the public one, not the one we see.
  const url = new URL(request.url);
  let receipts: Receipt[];
  try {
    receipts = await smsAdapters[owner.provider].parseReceipt(request, {
      settings: ready.settings,
      publicUrl: `${settingsOf(env).PUBLIC_BASE_URL}${url.pathname}${url.search}`,
    });
  } catch (error) {
    if (error instanceof ReceiptFormatError) {
      throw new ApiError("validation-error", error.message);
    }
    if (error instanceof ReceiptAuthError) {
      throw new ApiError("forbidden", `The callback's signature does not verify: ${error.message}`);
    }
    throw error;
  }
  // The tenant's messages are on its send-log partitions (db/send-log-partitions): each receipt
  // is applied on the one holding its message, in one batch per partition.
  const logs = tenantSendLogs(env, await placementOf(env, owner.tenantId));
  const ids = new Map<Receipt, SentMessage | null>();
  let known = 0;
  let applied = 0;
  const unchanged: string[] = [];
  let refreshed = false;
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i] as D1Database;
    const here = await messagesOf(
      database(log),
      owner,
      receipts.filter((receipt) => !ids.has(receipt)),
    );
    const found = [...here].flatMap(([receipt, message]): ReceiptToApply[] => {
      ids.set(receipt, message);
      return message
        ? [
            {
              message,
              providerMessageId: receipt.providerMessageId,
              status: receipt.status,
              reason: receipt.reason ?? null,
            },
          ]
        : [];
    });
    // Each with its webhook events (delivery/status-writer).
    const changed = await applyReceipts(env, log, owner, found, now);
    known += found.length;
    applied += changed.filter(Boolean).length;
    unchanged.push(...found.filter((_, j) => !changed[j]).map((r) => r.message.id));
    if (i === logs.length - 1 && ids.size < receipts.length && !refreshed) {
      refreshed = true;
      // Some not found: this isolate's copy of the placement may predate a move (its dispatcher
      // logs to the new partition at once). Read afresh; a partition new to the list is looked
      // in too, and held on.
      forgetPlacement(owner.tenantId);
      for (const fresh of tenantSendLogs(env, await placementOf(env, owner.tenantId))) {
        if (!logs.includes(fresh)) {
          logs.push(fresh);
        }
      }
    }
  }
  // Not found: most likely the send is not recorded yet (the carrier's receipt beat our consumer's
  // write). Held, and applied when the send is recorded (the status writer); one recorded since
  // our look-up is applied by the hold itself. Not one echoing an id the tenant has no message by:
  // no send of it will ever be recorded.
  const notFound = receipts.filter((receipt) => !ids.has(receipt));
  const echoed = await existingIds(
    logs,
    owner.tenantId,
    notFound.flatMap((receipt) => (receipt.messageId ? [receipt.messageId] : [])),
  );
  const unmatched = notFound.filter((r) => !r.messageId || echoed.has(r.messageId));
  // Echoing an unknown id, or found under its carrier id echoing another message's: no message.
  const strays = receipts.length - known - unmatched.length;
  // Held on each partition of the tenant: its send is recorded on the one its queue job names,
  // which applies it there (a copy on another is dropped by housekeeping with the day's stale).
  const lateChanged = unmatched.map(() => false);
  const lateRecorded = unmatched.map(() => false);
  for (const log of logs) {
    const late = await holdReceipts(env, log, owner, unmatched, now);
    late.changed.forEach((changed, i) => {
      lateChanged[i] = lateChanged[i] || changed;
    });
    late.recorded.forEach((recorded, i) => {
      lateRecorded[i] = lateRecorded[i] || recorded;
    });
  }
  const existing = await existingIds(logs, owner.tenantId, unchanged);
  const held = unmatched.filter((_, i) => !lateRecorded[i]);
  const counts = {
    applied: applied + lateChanged.filter(Boolean).length,
    // A duplicate or late receipt for a message that already moved on.
    ignored:
      unchanged.filter((id) => existing.has(id)).length +
      lateRecorded.filter((recorded, i) => recorded && !lateChanged[i]).length,
    held: held.length,
    unknown: unchanged.filter((id) => !existing.has(id)).length + strays,
  };
  if (counts.unknown > 0) {
    createLogger(env.LOG_LEVEL, { tenant_id: owner.tenantId }).warn(
      "receipts for unknown messages",
      {
        provider,
        count: counts.unknown,
      },
    );
  }
  if (counts.held > 0) {
    // Usually the send's record is a moment behind; housekeeping drops any still held after a day.
    createLogger(env.LOG_LEVEL, { tenant_id: owner.tenantId }).info(
      "receipts held for carrier ids not recorded yet",
      {
        provider,
        count: counts.held,
        provider_message_ids: held.map((receipt) => receipt.providerMessageId),
      },
    );
  }
  return counts;
}

/**
 * Our message for each receipt (as its events show it): the one this tenant sent through this
 * provider under the receipt's carrier id, the provider's own id for its own send. An id of ours
 * that the carrier echoes (Aliyun's `out_id`, the sandbox's `message_id`) is only checked against
 * it, never trusted alone: any of a tenant's providers could name any of its messages, and a push
 * from one must not finish what another sent. Null for a receipt whose echoed id names another
 * message.
 */
async function messagesOf(
  db: Database,
  owner: HookOwner,
  receipts: Receipt[],
): Promise<Map<Receipt, SentMessage | null>> {
  const ids = new Map<Receipt, SentMessage | null>();
  const byProviderId = new Map<string, Receipt[]>();
  for (const receipt of receipts) {
    byProviderId.set(receipt.providerMessageId, [
      ...(byProviderId.get(receipt.providerMessageId) ?? []),
      receipt,
    ]);
  }
  const providerIds = [...byProviderId.keys()];
  for (let i = 0; i < providerIds.length; i += 90) {
    const rows = await db
      .select(sentMessageColumns)
      .from(messages)
      .where(
        and(
          eq(messages.tenantId, owner.tenantId),
          eq(messages.provider, owner.provider),
          inArray(messages.providerMessageId, providerIds.slice(i, i + 90)),
        ),
      );
    for (const row of rows) {
      for (const receipt of byProviderId.get(row.providerMessageId ?? "") ?? []) {
        ids.set(receipt, !receipt.messageId || receipt.messageId === row.id ? row : null);
      }
    }
  }
  return ids;
}

async function existingIds(
  logs: D1Database[],
  tenantId: string,
  ids: string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const log of logs) {
    for (let i = 0; i < ids.length; i += 90) {
      const rows = await database(log)
        .select({ id: messages.id })
        .from(messages)
        .where(and(eq(messages.tenantId, tenantId), inArray(messages.id, ids.slice(i, i + 90))));
      for (const row of rows) {
        found.add(row.id);
      }
    }
  }
  return found;
}
