/**
 * WeChat behind the channels' outbound interface: a message goes to WeChat as a template message
 * or a customer-service message, its JSON (the payload composed when it was accepted) sent with
 * the app's access token, which the caller's token authority hands out. WeChat's answer becomes
 * the outcome an SMS adapter gives: sent (with WeChat's msgid for a template, whose job-finish
 * event comes later), a retryable or permanent failure, or unknown when no answer came. It never
 * throws: one WeChat message's trouble must not fail the dispatch batch, which would send its SMS
 * messages again.
 */
import type { AdapterIO, OutboundAdapter, OutboundRequest, SendOutcome } from "../adapter";
import { callWeChatApi } from "./api-client";
import type { WeChatError } from "./api-types";

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
  43101: "the user has not accepted (or has refused) this subscription notice",
  47003: "the notice's data does not fit its template",
  45015: "outside the 48-hour window for customer-service messages",
  45047: "the customer-service quota for this window is used up",
  47001: "WeChat refused the request's format",
  40008: "not a valid message type",
};

/** 45009: the account's daily API quota is used up; retrying before midnight cannot help. */
const DAILY_QUOTA = 45009;

/** A WeChat template message (its result comes later), not a customer-service one. */
export function isTemplateMessage(message: {
  payload: Readonly<Record<string, unknown>> | null;
}): boolean {
  return message.payload?.msgtype === "template";
}

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
    ...(error.errcode === DAILY_QUOTA ? { quotaExhausted: true } : {}),
  };
}

export const wechat: OutboundAdapter = {
  /**
   * One call to WeChat for the message, from the app `request.from` to the openid its payload
   * names. An exception on our side of the call (the token authority's object, the follower's
   * row) becomes an outcome: `unknown` while the message's request is out without an answer (it
   * may have been taken), a retryable failure otherwise (before it left, or after WeChat refused
   * it, it cannot have been).
   */
  async send(request, _settings, io) {
    const appId = request.from;
    const payload = request.payload;
    if (!appId || !payload) {
      return {
        kind: "failed",
        retryable: false,
        code: "wechat_incomplete",
        reason: "no app or payload",
      };
    }
    const template = isTemplateMessage(request);
    // A subscription notice needs the follower's acceptance, not a customer-service window.
    const notice = payload.msgtype === "subscribe_notice";
    // `fallback` is ours (the SMS to send if WeChat refuses); WeChat gets the rest.
    const { fallback: _fallback, ...body } = payload;
    const { msgtype: _type, ...templateBody } = body;
    let sendUnanswered = false;
    try {
      // Checked again at send time: a scheduled or long-retried message may come after its window.
      if (!template && !notice && !(await windowOpen(io, request, appId))) {
        return {
          kind: "failed",
          retryable: false,
          code: "wechat_window_closed",
          reason:
            "the follower's customer-service window had closed (or they unfollowed) by the time it was to be sent",
        };
      }
      const accessToken = io.accessToken;
      if (!accessToken) {
        throw new Error("no token authority was given for the app");
      }
      const result = await callWeChatApi(
        appId,
        template
          ? "/cgi-bin/message/template/send"
          : notice
            ? "/cgi-bin/message/subscribe/bizsend"
            : "/cgi-bin/message/custom/send",
        { method: "POST", body: template || notice ? templateBody : body },
        {
          fetch: async (outgoing) => {
            sendUnanswered = true;
            const response = await io.fetch(outgoing);
            sendUnanswered = false;
            return response;
          },
          accessToken,
        },
      );
      if (!result.ok) {
        return outcomeOfError(result.error, sendUnanswered);
      }
      return {
        kind: "sent",
        // A customer-service message has no id at WeChat; ours stands in.
        providerMessageId: template
          ? String(result.value.msgid ?? "")
          : `${notice ? "sub" : "cs"}:${request.messageId}`,
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
  },
};

function windowOpen(io: AdapterIO, request: OutboundRequest, appId: string): Promise<boolean> {
  if (!io.serviceWindowOpen) {
    throw new Error("nothing was given to read the follower's customer-service window");
  }
  return io.serviceWindowOpen(
    { tenantId: request.tenantId, sender: appId, recipient: request.to },
    io.now(),
  );
}
