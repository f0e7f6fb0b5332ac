/**
 * Tencent Cloud SMS's reply callback (短信回复): what a subscriber replied, posted as JSON
 * `{extend, mobile, nationcode, sign, text, time}` (`time` in Unix seconds, `extend` the
 * extension code, empty unless the account has one). The documented example is one object; the
 * status callbacks come as an array, so an array of them is read too. Tencent does not sign it:
 * the hook token in the URL authenticates it. It gives the reply no id of its own.
 */
import { z } from "zod";
import { type InboundMessage, ReceiptFormatError } from "./adapter";

const replySchema = z.object({
  extend: z.string().nullish(),
  mobile: z.string().min(1),
  nationcode: z.string().nullish(),
  sign: z.string().nullish(),
  text: z.string(),
  time: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
});

const repliesSchema = z.union([
  replySchema.transform((reply) => [reply]),
  z.array(replySchema).min(1),
]);

/** `mobile` with its `nationcode` in E.164 (`+8613800138000`); as given when they do not make one. */
export function tencentE164(mobile: string, nationcode: string | null | undefined): string {
  if (mobile.startsWith("+")) {
    return mobile;
  }
  const code = (nationcode ?? "").replace(/^\+/, "");
  return /^\d{1,3}$/.test(code) && /^\d{4,14}$/.test(mobile) ? `+${code}${mobile}` : mobile;
}

/** The callback's body (JSON already parsed) as our inbound messages, in its order. */
export function tencentInbound(body: unknown): InboundMessage[] {
  const parsed = repliesSchema.safeParse(body);
  if (!parsed.success) {
    throw new ReceiptFormatError(
      "Tencent's reply callback is JSON {extend, mobile, nationcode, sign, text, time}, or an array of them",
    );
  }
  const raw = (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
  return parsed.data.map((reply, i) => ({
    from: tencentE164(reply.mobile, reply.nationcode),
    to: reply.extend ?? "",
    body: reply.text,
    providerMessageId: null,
    receivedAt: reply.time * 1000,
    raw: raw[i] ?? {},
  }));
}
