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
): Promise<{ applied: number; unknown: number }> {
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
  let applied = 0;
  let unknown = 0;
  for (const receipt of receipts) {
    const messageId =
      receipt.messageId ??
      (
        await db.query.messages.findFirst({
          columns: { id: true },
          where: and(
            eq(messages.tenantId, settings.tenantId),
            eq(messages.provider, settings.provider),
            eq(messages.providerMessageId, receipt.providerMessageId),
          ),
        })
      )?.id;
    const changed =
      messageId !== undefined &&
      (await applyReceipt(
        db,
        { tenantId: settings.tenantId, messageId },
        { status: receipt.status, reason: receipt.reason ?? null },
        now,
      ));
    if (changed) {
      applied++;
    } else if (
      !messageId ||
      !(await db.query.messages.findFirst({
        columns: { id: true },
        where: and(eq(messages.id, messageId), eq(messages.tenantId, settings.tenantId)),
      }))
    ) {
      unknown++;
      console.warn("receipt for an unknown message", provider, receipt.providerMessageId);
    }
  }
  return { applied, unknown };
}
