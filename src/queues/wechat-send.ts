/**
 * Sends a released WeChat message through the account's token authority (services/wechat-client):
 * a template message, or a customer-service message. WeChat's answer becomes the same outcome an
 * SMS adapter gives: sent (with WeChat's msgid for a template, whose job-finish event comes later),
 * a retryable or permanent failure, or unknown when no answer came.
 */
import type { SendOutcome } from "../channels/sms/adapter";
import type { Settings } from "../config/settings";
import type { MessageRow } from "../db/message-log";
import { applyReceipts } from "../db/message-log";
import type { WeChatError } from "../durable-objects/wechat-types";
import { fallbackOf, switchToSms } from "../services/best-channel";
import { callWeChat } from "../services/wechat-client";
import { type Sent, settle } from "./attempt-outcomes";
import type { DispatchDeps } from "./dispatch";

// WeChat's global error codes for message sends (the "全局返回码" page), with what they mean here.
const RETRYABLE: Readonly<Record<number, string>> = {
  [-1]: "WeChat is busy",
  45009: "the account's daily API quota is used up",
  45011: "calls are too frequent",
};
const PERMANENT: Readonly<Record<number, string>> = {
  40003: "not a valid openid for this account",
  40037: "no such template in this account",
  43004: "the user does not follow the account",
  43019: "the user has blocked the account",
  45015: "outside the 48-hour window for customer-service messages",
  45047: "the customer-service quota for this window is used up",
  47001: "WeChat refused the request's format",
  40008: "not a valid message type",
};

export function outcomeOfError(error: WeChatError): SendOutcome {
  if (error.code === "network") {
    return { kind: "unknown", reason: `no answer from WeChat: ${error.message}` };
  }
  if (error.code !== "wechat-error" || error.errcode === undefined) {
    return { kind: "failed", retryable: error.retryable, code: error.code, reason: error.message };
  }
  const known = RETRYABLE[error.errcode] ?? PERMANENT[error.errcode];
  const reason = `${known ?? "WeChat refused it"} (${error.errcode} ${error.errmsg ?? ""})`.trim();
  return {
    kind: "failed",
    retryable: error.errcode in RETRYABLE || (!(error.errcode in PERMANENT) && error.retryable),
    code: `wechat_${error.errcode}`,
    reason,
  };
}

export function isTemplateMessage(message: Pick<MessageRow, "payload">): boolean {
  return message.payload?.msgtype === "template";
}

export async function sendWeChat(
  env: Env,
  message: MessageRow,
  fetch: (request: Request) => Promise<Response>,
): Promise<SendOutcome> {
  const appId = message.sender;
  const payload = message.payload;
  if (!appId || !payload) {
    return {
      kind: "failed",
      retryable: false,
      code: "wechat_incomplete",
      reason: "no app or payload",
    };
  }
  const template = isTemplateMessage(message);
  // `fallback` is ours (the SMS to send if WeChat refuses); WeChat gets the rest.
  const { fallback: _fallback, ...request } = payload;
  const { msgtype: _type, ...templateBody } = request;
  const result = await callWeChat(
    env,
    appId,
    template ? "/cgi-bin/message/template/send" : "/cgi-bin/message/custom/send",
    { method: "POST", body: template ? templateBody : request },
    { fetch },
  );
  if (!result.ok) {
    return outcomeOfError(result.error);
  }
  return {
    kind: "sent",
    // A customer-service message has no id at WeChat; ours stands in.
    providerMessageId: template ? String(result.value.msgid ?? "") : `cs:${message.id}`,
  };
}

/** One WeChat attempt, settled; refused for good with an SMS fallback, the message becomes it. */
export async function sendWeChatOne(
  env: Env,
  message: MessageRow,
  claimId: string,
  deps: DispatchDeps,
  settings: Settings,
  now: () => number,
): Promise<Sent> {
  const startedAt = now();
  const outcome = await sendWeChat(env, message, deps.fetch);
  const result = settle(message, claimId, "wechat", outcome, startedAt, now(), settings, deps, {
    failover: false,
  });
  const fallback = fallbackOf(message);
  if (outcome.kind !== "failed" || outcome.retryable || !fallback) {
    return result;
  }
  // Refused for good by WeChat: the same message goes out as its SMS, at once.
  await switchToSms(env.DB, message, claimId, fallback, now());
  return {
    ...result,
    change: { kind: "retry", reason: `falling back to SMS after WeChat: ${outcome.reason}` },
    verdict: { ack: false, delaySeconds: 0 },
  };
}

/**
 * A WeChat customer-service message WeChat accepted has reached the user (there is no receipt for
 * it, unlike a template message's job-finish event): it is delivered once recorded sent.
 */
export async function deliveredOnSend(env: Env, sent: Sent[], now: number): Promise<void> {
  const byTenant = new Map<string, { messageId: string; status: "delivered"; reason: null }[]>();
  for (const { message, change } of sent) {
    if (message.channel === "wechat" && change.kind === "sent" && !isTemplateMessage(message)) {
      const list = byTenant.get(message.tenantId) ?? [];
      list.push({ messageId: message.id, status: "delivered", reason: null });
      byTenant.set(message.tenantId, list);
    }
  }
  for (const [tenantId, receipts] of byTenant) {
    await applyReceipts(env.DB, tenantId, receipts, now);
  }
}
