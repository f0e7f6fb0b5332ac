/**
 * What a WeChat message's payload (the request to WeChat, kept on the message) says about it: a
 * template message or a customer-service one, and, for a `channel: "auto"` message, the SMS it
 * falls back to.
 */

/** The SMS a `channel: "auto"` message becomes when WeChat refuses it or ends it undelivered. */
export interface SmsFallback {
  recipient: string;
  body: string;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  costMicros: number;
  templateId: string | null;
  templateVersion: number | null;
  templateParams: { name: string; value: string }[] | null;
}

type WithPayload = { payload: Record<string, unknown> | null };

/** A WeChat template message (its result comes later), not a customer-service one. */
export function isTemplateMessage(message: WithPayload): boolean {
  return message.payload?.msgtype === "template";
}

/** The SMS a `channel: "auto"` message falls back to, if it has one. */
export function fallbackOf(message: WithPayload): SmsFallback | null {
  const fallback = message.payload?.fallback;
  return fallback && typeof fallback === "object" ? (fallback as SmsFallback) : null;
}
