/**
 * Sends a released WeChat message through the account's token authority (services/wechat-client):
 * a template message, or a customer-service message. WeChat's answer becomes the same outcome an
 * SMS adapter gives: sent (with WeChat's msgid for a template, whose job-finish event comes later),
 * a retryable or permanent failure, or unknown when no answer came. It never throws: one WeChat
 * message's trouble must not fail the dispatch batch, which would send its SMS messages again.
 */
import type { SendOutcome } from "../channels/sms/adapter";
import type { Settings } from "../config/settings";
import type { MessageRow } from "../db/message-log";
import { switchToSms } from "../delivery/status-writer";
import { fallbackOf, isTemplateMessage } from "../domain/wechat-payload";
import type { WeChatError } from "../durable-objects/wechat-account/types";
import { callWeChat } from "../services/wechat/client";
import { serviceWindowOpen } from "../services/wechat/messages";
import { retryDelay, type Sent, settle } from "./attempt-outcomes";
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

/**
 * `sendUnanswered`: the message's own request left and got no answer. Only then may WeChat have
 * taken it; a token that could not be had (the token endpoint or its object failing, even after a
 * send WeChat refused for its token) means nothing was sent, which frees an `auto` message's SMS.
 */
export function outcomeOfError(error: WeChatError, sendUnanswered: boolean): SendOutcome {
  if (error.code === "network" && sendUnanswered) {
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

/**
 * One call to WeChat for the message. Never throws: an exception on our side of the call (the
 * token authority's object, the send log) becomes an outcome, `unknown` while the message's
 * request is out without an answer (it may have been taken) and a retryable failure otherwise
 * (before it left, or after WeChat refused it, it cannot have been).
 */
export async function sendWeChat(
  env: Env,
  message: MessageRow,
  fetch: (request: Request) => Promise<Response>,
  now: number,
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
  let sendUnanswered = false;
  try {
    // Checked again at send time: a scheduled or long-retried message may come after its window.
    if (!template && !(await serviceWindowOpen(env.DB, { ...message, sender: appId }, now))) {
      return {
        kind: "failed",
        retryable: false,
        code: "wechat_window_closed",
        reason:
          "the follower's customer-service window had closed (or they unfollowed) by the time it was to be sent",
      };
    }
    const result = await callWeChat(
      env,
      appId,
      template ? "/cgi-bin/message/template/send" : "/cgi-bin/message/custom/send",
      { method: "POST", body: template ? templateBody : request },
      {
        fetch: async (outgoing) => {
          sendUnanswered = true;
          const response = await fetch(outgoing);
          sendUnanswered = false;
          return response;
        },
      },
    );
    if (!result.ok) {
      return outcomeOfError(result.error, sendUnanswered);
    }
    return {
      kind: "sent",
      // A customer-service message has no id at WeChat; ours stands in.
      providerMessageId: template ? String(result.value.msgid ?? "") : `cs:${message.id}`,
    };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return sendUnanswered
      ? { kind: "unknown", reason: `the WeChat call broke while the request was out: ${why}` }
      : {
          kind: "failed",
          retryable: true,
          code: "wechat_unavailable",
          reason: `WeChat could not be called: ${why}`,
        };
  }
}

/**
 * WeChat attempts an `auto` message makes before its SMS goes instead: half the attempts, so the
 * SMS, which continues the message's attempt count, keeps the rest for its own retries.
 */
function wechatAttempts(settings: Settings): number {
  return Math.ceil(settings.MAX_ATTEMPTS / 2);
}

/** 45009: the account's daily API quota is used up; retrying before midnight cannot help. */
const DAILY_QUOTA_CODE = "wechat_45009";

/**
 * One WeChat attempt, settled. A message with an SMS fallback (`channel: "auto"`) becomes that
 * SMS when WeChat refuses it for good, when its daily quota is used up, or when its retries run
 * out, unless an attempt may have reached WeChat (no answer came): the design never sends on a
 * second channel blindly.
 */
export async function sendWeChatOne(
  env: Env,
  message: MessageRow,
  claimId: string,
  deps: DispatchDeps,
  settings: Settings,
  now: () => number,
): Promise<Sent> {
  const startedAt = now();
  const outcome = await sendWeChat(env, message, deps.fetch, startedAt);
  const fallback = fallbackOf(message);
  // Only definite refusals spend the shorter budget; no answer keeps WeChat's full one.
  const budget =
    fallback && outcome.kind === "failed"
      ? { ...settings, MAX_ATTEMPTS: wechatAttempts(settings) }
      : settings;
  const result = settle(message, claimId, "wechat", outcome, startedAt, now(), budget, deps, {
    failover: false,
  });
  if (!fallback || outcome.kind !== "failed") {
    return result;
  }
  const givesUp =
    !outcome.retryable || outcome.code === DAILY_QUOTA_CODE || result.change.kind === "failed";
  if (!givesUp) {
    return result;
  }
  try {
    if (await mayHaveReachedWeChat(env.DB, message)) {
      return {
        ...result,
        change: {
          kind: "failed",
          reason: `${outcome.reason}; no SMS sent: an earlier WeChat attempt got no answer and may have reached the user`,
        },
        verdict: { ack: true, report: { id: message.id, outcome: "final" } },
      };
    }
    // The same message goes out as its SMS, at once.
    await switchToSms(env.DB, message, claimId, fallback, now());
  } catch (error) {
    // WeChat's answer is recorded either way; the next delivery tries WeChat, then this, again.
    console.error("wechat: the SMS fallback could not be set up yet", error);
    return {
      ...result,
      change: { kind: "retry", reason: `falling back to SMS after WeChat: ${outcome.reason}` },
      verdict: { ack: false, delaySeconds: retryDelay(message.attemptCount, settings, deps) },
    };
  }
  return {
    ...result,
    change: { kind: "retry", reason: `falling back to SMS after WeChat: ${outcome.reason}` },
    verdict: { ack: false, delaySeconds: 0 },
  };
}

/**
 * Whether an earlier WeChat attempt for the message got no answer (it may have gone through),
 * including one whose consumer never recorded WeChat's answer. This attempt's own row, written
 * before the call, does not count.
 */
async function mayHaveReachedWeChat(db: D1Database, message: MessageRow): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT 1 AS found FROM message_attempts
       WHERE message_id = ? AND attempt < ? AND provider = 'wechat' AND outcome = 'unknown'
       LIMIT 1`,
    )
    .bind(message.id, message.attemptCount)
    .first<{ found: number }>();
  return row !== null;
}
