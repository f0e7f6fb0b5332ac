/**
 * The built-in sandbox carrier: it answers like a carrier and posts its delivery receipts to our
 * status hook through the same path real carriers use, so the whole pipeline runs with no
 * credentials. Its behaviour is chosen by the recipient's last four digits:
 *   0000  fails permanently
 *   0001  fails with a retryable error on the first two attempts, then succeeds
 *   0002  is sent and never gets a receipt (it ends `expired` at the receipt deadline)
 *   else  is sent and delivered right after
 * Like Aliyun's and Tencent's receipt pushes, it posts receipts in batches (a JSON array), a few
 * milliseconds after the sends, which is sooner than Relaybox may have recorded them: the receipt
 * path must (and does) cope with that, as it must with real carriers.
 */
import { z } from "zod";
import { createLogger } from "../../lib/log";
import { fetchNoRedirect } from "../../lib/outbound-fetch";
import { redactHookTokens } from "../../lib/redact";
import {
  type AdapterIO,
  type InboundMessage,
  type Receipt,
  ReceiptFormatError,
  type SmsAdapter,
} from "./adapter";

/** Long enough to gather one consumer batch's receipts into one post. */
const RECEIPT_DELAY_MS = 5;
const MAX_RECEIPTS_PER_POST = 500;

const receiptSchema = z.object({
  message_id: z.string().min(1),
  provider_message_id: z.string().min(1),
  status: z.enum(["delivered", "undelivered"]),
  reason: z.string().optional(),
});

type SandboxReceipt = z.infer<typeof receiptSchema>;

const receiptsSchema = z.union([
  receiptSchema.transform((receipt) => [receipt]),
  z.array(receiptSchema).min(1).max(MAX_RECEIPTS_PER_POST),
]);

/**
 * An inbound message to the sandbox, as the sandbox's own tools post it: `{from, to?, body,
 * message_id?, received_at?}` (`to` empty when left out; `received_at` ISO 8601, the callback's
 * time when left out), or an array of up to MAX_RECEIPTS_PER_POST of them.
 */
const inboundSchema = z.object({
  from: z.string().min(1),
  to: z.string().default(""),
  body: z.string(),
  message_id: z.string().min(1).optional(),
  received_at: z.iso.datetime({ offset: true }).optional(),
});

const inboundsSchema = z.union([
  inboundSchema.transform((message) => [message]),
  z.array(inboundSchema).min(1).max(MAX_RECEIPTS_PER_POST),
]);

/** The sandbox's inbound post (JSON already parsed) as our inbound messages; `now`: when it came. */
export function sandboxInbound(body: unknown, now: number): InboundMessage[] {
  const parsed = inboundsSchema.safeParse(body);
  if (!parsed.success) {
    throw new ReceiptFormatError(
      `sandbox inbound messages are JSON {from, to, body, message_id?, received_at?}, or an array of up to ${MAX_RECEIPTS_PER_POST} of them`,
    );
  }
  const raw = (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
  return parsed.data.map((message, i) => ({
    from: message.from,
    to: message.to,
    body: message.body,
    providerMessageId: message.message_id ?? null,
    receivedAt: message.received_at ? Date.parse(message.received_at) : now,
    raw: raw[i] ?? {},
  }));
}

/**
 * The carrier's side: the sends it took, by our message id (this isolate only, the newest
 * REMEMBERED of them), for `lookup`. A send from an isolate that is gone is not remembered: its
 * lookup cannot tell, and the message is sent again, as a real carrier's would be without lookups.
 */
const remembered = new Map<string, string>();
const REMEMBERED = 10_000;

function remember(messageId: string, providerMessageId: string): void {
  remembered.delete(messageId);
  remembered.set(messageId, providerMessageId);
  if (remembered.size > REMEMBERED) {
    const oldest = remembered.keys().next();
    if (!oldest.done) {
      remembered.delete(oldest.value);
    }
  }
}

/** The carrier's side: receipts waiting to be posted, by callback URL (this isolate only). */
const outgoing = new Map<string, SandboxReceipt[]>();

function queueReceipt(url: string, receipt: SandboxReceipt, io: AdapterIO): void {
  const waiting = outgoing.get(url);
  if (waiting) {
    waiting.push(receipt);
    return;
  }
  outgoing.set(url, [receipt]);
  io.waitUntil(scheduler.wait(RECEIPT_DELAY_MS).then(() => postReceipts(url, io)));
}

async function postReceipts(url: string, io: AdapterIO): Promise<void> {
  const receipts = outgoing.get(url) ?? [];
  outgoing.delete(url);
  for (let i = 0; i < receipts.length; i += MAX_RECEIPTS_PER_POST) {
    const response = await fetchNoRedirect(
      io.fetch,
      new Request(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(receipts.slice(i, i + MAX_RECEIPTS_PER_POST)),
      }),
    );
    if (!response.ok) {
      // The problem's `instance` is the hook's path, token and all.
      createLogger(undefined).warn("sandbox receipts were refused", {
        status: response.status,
        answer: redactHookTokens(await response.text()),
      });
    }
  }
}

export const sandbox: SmsAdapter = {
  sendsFreeText: true,
  addsSignature: false,

  async send(request, _settings, io) {
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
      queueReceipt(
        request.statusCallbackUrl,
        {
          message_id: request.messageId,
          provider_message_id: providerMessageId,
          status: "delivered",
        },
        io,
      );
    }
    remember(request.messageId, providerMessageId);
    return { kind: "sent", providerMessageId };
  },

  async lookup(request) {
    const providerMessageId = remembered.get(request.messageId);
    return providerMessageId
      ? { kind: "found", providerMessageId }
      : { kind: "cannot_tell", reason: "the sandbox remembers only this isolate's sends" };
  },

  async parseInbound(request, context) {
    return sandboxInbound(await request.json().catch(() => undefined), context.now);
  },

  async parseReceipt(request): Promise<Receipt[]> {
    const parsed = receiptsSchema.safeParse(await request.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ReceiptFormatError(
        `sandbox receipts are JSON {message_id, provider_message_id, status}, or an array of up to ${MAX_RECEIPTS_PER_POST} of them`,
      );
    }
    return parsed.data.map((r) => ({
      messageId: r.message_id,
      providerMessageId: r.provider_message_id,
      status: r.status,
      reason: r.reason,
    }));
  },
};
