/**
 * The built-in sandbox carrier: it answers like a carrier and posts its delivery receipts to our
 * status hook through the same path real carriers use, so the whole pipeline runs with no
 * credentials. Its behaviour is chosen by the recipient's last four digits:
 *   0000  fails permanently
 *   0001  fails with a retryable error on the first two attempts, then succeeds
 *   0002  is sent and never gets a receipt (it ends `expired` at the receipt deadline)
 *   else  is sent and delivered about half a second later
 */
import { z } from "zod";
import { type Receipt, ReceiptFormatError, type SmsAdapter } from "./adapter";

const RECEIPT_DELAY_MS = 500;

const receiptSchema = z.object({
  message_id: z.string().min(1),
  provider_message_id: z.string().min(1),
  status: z.enum(["delivered", "undelivered"]),
  reason: z.string().optional(),
});

export const sandbox: SmsAdapter = {
  async send(request, io) {
    const suffix = request.to.slice(-4);
    if (suffix === "0000") {
      return {
        kind: "failed",
        retryable: false,
        code: "sandbox_rejected",
        reason: "sandbox: numbers ending 0000 are always rejected",
      };
    }
    if (suffix === "0001" && request.attempt <= 2) {
      return {
        kind: "failed",
        retryable: true,
        code: "sandbox_throttled",
        reason: `sandbox: temporary failure ${request.attempt} of 2 for numbers ending 0001`,
      };
    }
    const providerMessageId = `sbx_${request.messageId.slice(4)}_${request.attempt}`;
    if (suffix !== "0002") {
      const receipt = new Request(request.statusCallbackUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          message_id: request.messageId,
          provider_message_id: providerMessageId,
          status: "delivered",
        }),
      });
      io.waitUntil(
        scheduler.wait(RECEIPT_DELAY_MS).then(async () => {
          const response = await io.fetch(receipt);
          if (!response.ok) {
            console.warn("sandbox receipt was refused", response.status, await response.text());
          }
        }),
      );
    }
    return { kind: "sent", providerMessageId };
  },

  async parseReceipt(request): Promise<Receipt[]> {
    const parsed = receiptSchema.safeParse(await request.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ReceiptFormatError(
        "sandbox receipts are JSON {message_id, provider_message_id, status}",
      );
    }
    const { message_id, provider_message_id, status, reason } = parsed.data;
    return [{ messageId: message_id, providerMessageId: provider_message_id, status, reason }];
  },
};
