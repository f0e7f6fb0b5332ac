/** Carrier delivery receipts: authenticated by the hook token, applied forward-only, in batches. */
import { and, eq, inArray } from "drizzle-orm";
import { type Receipt, ReceiptAuthError, ReceiptFormatError } from "../../channels/sms/adapter";
import { smsAdapters } from "../../channels/sms/registry";
import { settingsOf } from "../../config/settings";
import { type Database, database } from "../../db/client";
import { messages } from "../../db/schema";
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
  const ids = await messagesOf(db, owner, receipts);
  const known = receipts.flatMap((receipt): ReceiptToApply[] => {
    const message = ids.get(receipt);
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
  // Not found: most likely the send is not recorded yet (the carrier's receipt beat our consumer's
  // write). Held, and applied when the send is recorded (the status writer); one recorded since
  // our look-up is applied by the hold itself. Not one echoing an id the tenant has no message by:
  // no send of it will ever be recorded.
  const notFound = receipts.filter((receipt) => !ids.has(receipt));
  const echoed = await existingIds(
    db,
    owner.tenantId,
    notFound.flatMap((receipt) => (receipt.messageId ? [receipt.messageId] : [])),
  );
  const unmatched = notFound.filter((r) => !r.messageId || echoed.has(r.messageId));
  // Echoing an unknown id, or found under its carrier id echoing another message's: no message.
  const strays = receipts.length - known.length - unmatched.length;
  // Each with its webhook events (delivery/status-writer).
  const late = await holdReceipts(env, owner, unmatched, now);
  const changed = await applyReceipts(env, owner, known, now);
  const unchanged = known.filter((_, i) => !changed[i]).map((r) => r.message.id);
  const existing = await existingIds(db, owner.tenantId, unchanged);
  const held = unmatched.filter((_, i) => !late.recorded[i]);
  const counts = {
    applied: changed.filter(Boolean).length + late.changed.filter(Boolean).length,
    // A duplicate or late receipt for a message that already moved on.
    ignored:
      unchanged.filter((id) => existing.has(id)).length +
      late.recorded.filter((recorded, i) => recorded && !late.changed[i]).length,
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

async function existingIds(db: Database, tenantId: string, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await db
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.tenantId, tenantId), inArray(messages.id, ids.slice(i, i + 90))));
    for (const row of rows) {
      found.add(row.id);
    }
  }
  return found;
}
