/** Carrier delivery receipts: authenticated by the hook token, applied forward-only. */
import { and, eq } from "drizzle-orm";
import { ReceiptFormatError } from "../channels/sms/adapter";
import { smsAdapters } from "../channels/sms/registry";
import { database } from "../db/client";
import { applyReceipt } from "../db/message-log";
import { findByHookToken } from "../db/provider-settings";
import { messages, PROVIDERS, type ProviderName } from "../db/schema";
import { ApiError } from "../lib/problem";

function isProvider(name: string): name is ProviderName {
  return (PROVIDERS as readonly string[]).includes(name);
}

export async function acceptStatusCallback(
  env: Env,
  provider: string,
  hookToken: string,
  request: Request,
  now: number = Date.now(),
): Promise<{ applied: number; ignored: number; unknown: number }> {
  const db = database(env.DB);
  const settings = isProvider(provider)
    ? await findByHookToken(db, provider, hookToken)
    : undefined;
  if (!settings) {
    throw new ApiError("not-found", "No such hook.");
  }
  const adapter = smsAdapters[settings.provider];
  let receipts: Awaited<ReturnType<typeof adapter.parseReceipt>>;
  try {
    receipts = await adapter.parseReceipt(request);
  } catch (error) {
    if (error instanceof ReceiptFormatError) {
      throw new ApiError("validation-error", error.message);
    }
    throw error;
  }
  const counts = { applied: 0, ignored: 0, unknown: 0 };
  for (const receipt of receipts) {
    const message = await db.query.messages.findFirst({
      columns: { id: true },
      where: and(
        eq(messages.tenantId, settings.tenantId),
        receipt.messageId
          ? eq(messages.id, receipt.messageId)
          : and(
              eq(messages.provider, settings.provider),
              eq(messages.providerMessageId, receipt.providerMessageId),
            ),
      ),
    });
    if (!message) {
      counts.unknown++;
      console.warn("receipt for an unknown message", provider, receipt.providerMessageId);
      continue;
    }
    const changed = await applyReceipt(
      db,
      { tenantId: settings.tenantId, messageId: message.id },
      { status: receipt.status, reason: receipt.reason ?? null },
      now,
    );
    counts[changed ? "applied" : "ignored"]++;
  }
  return counts;
}
