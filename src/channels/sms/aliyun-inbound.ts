/**
 * Aliyun's SmsUp push (上行短信消息, HTTP batch push mode): what subscribers replied to our
 * messages, posted as a JSON array of `{phone_number, send_time, content, sign_name, dest_code,
 * sequence_id}`, possibly several at once. Aliyun does not sign it: the hook token in the URL
 * authenticates it. Replies come only from mainland Chinese numbers, which Aliyun gives bare
 * (11 digits); `send_time` is Beijing time (UTC+8) to the second.
 */
import { z } from "zod";
import { type InboundMessage, ReceiptFormatError } from "./adapter";

const text = z.union([z.string(), z.number()]).transform(String);

const replySchema = z.object({
  phone_number: text,
  send_time: z.string(),
  content: z.string(),
  sign_name: z.string().optional(),
  dest_code: text.optional(),
  sequence_id: text,
});

const repliesSchema = z.array(replySchema).min(1);

/** Aliyun's `send_time` (`2017-09-01 00:00:00`, Beijing time) as Unix ms; null if not that. */
export function aliyunTime(sendTime: string): number | null {
  const parts = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(sendTime.trim());
  if (!parts) {
    return null;
  }
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return Date.UTC(year, month - 1, day, hour - 8, minute, second);
}

/** A mainland number as Aliyun gives it (`13800138000`, or with 86 in front) in E.164. */
export function mainlandE164(phoneNumber: string): string {
  const national = /^(?:\+|00)?(?:86)?(1\d{10})$/.exec(phoneNumber.trim())?.[1];
  return national ? `+86${national}` : phoneNumber;
}

/** The push's body (JSON already parsed) as our inbound messages, in its order. */
export function aliyunInbound(body: unknown): InboundMessage[] {
  const parsed = repliesSchema.safeParse(body);
  if (!parsed.success) {
    throw new ReceiptFormatError(
      "Aliyun's SmsUp is a JSON array of {phone_number, send_time, content, sign_name, dest_code, sequence_id}",
    );
  }
  const raw = body as Record<string, unknown>[];
  return parsed.data.map((reply, i) => {
    const receivedAt = aliyunTime(reply.send_time);
    if (receivedAt === null) {
      throw new ReceiptFormatError(
        `Aliyun's SmsUp send_time is "yyyy-MM-dd HH:mm:ss", not "${reply.send_time}"`,
      );
    }
    return {
      from: mainlandE164(reply.phone_number),
      to: reply.dest_code ?? "",
      body: reply.content,
      providerMessageId: reply.sequence_id,
      receivedAt,
      raw: raw[i] ?? {},
    };
  });
}
