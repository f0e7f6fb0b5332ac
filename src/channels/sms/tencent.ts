/**
 * Tencent Cloud SMS: `SendSms` of API 2021-01-11, signed with TC3-HMAC-SHA256, and the delivery
 * receipts Tencent pushes to a callback URL set in its console (not per request, so
 * `statusCallbackUrl` is not sent). Tencent sends only its own approved templates and adds the
 * signature itself from `SignName`.
 *
 * Settings: config `secret_id`, `sms_sdk_app_id`, `sign_name` (when the request has none),
 * `base_url`, `region`, `timeout_ms`, and optional `sender_id` / `extend_code`; secret `secret_key`.
 */
import { z } from "zod";
import { type Receipt, ReceiptFormatError, type SendOutcome, type SmsAdapter } from "./adapter";
import { callCarrier, carrierTimeout } from "./carrier-call";
import { tencentConfig as configText, tencentCall } from "./tencent-api";
import { tencentInbound } from "./tencent-inbound";
import { lookupTencentMessage } from "./tencent-lookup";

type Verdict = { retryable: boolean; reason: string };

/**
 * Tencent's documented codes (common API errors and the SMS product's own), whether they come as
 * the request's `Response.Error.Code` or a number's `SendStatusSet[].Code`. Retrying pays only when
 * the cause may pass within our retry schedule (by default 5 attempts, backoff from 2 s doubling:
 * about half a minute in all). Hourly and daily caps outlast it; the rest needs a person (a
 * template or signature approved, a balance topped up, credentials fixed) or a different request.
 */
const RETRYABLE: Readonly<Record<string, string>> = {
  "InternalError.Timeout": "Tencent timed out handing the message on; Tencent advises retrying",
  "InternalError.SendAndRecvFail": "Tencent's backend failed to send or receive",
  "LimitExceeded.DeliveryFrequencyLimit": "the send hit the account's frequency limit policy",
  "LimitExceeded.PhoneNumberThirtySecondLimit": "too many messages to this number in 30 seconds",
};

const PERMANENT: Readonly<Record<string, string>> = {
  // Our request is malformed or our clock is off: the same request fails the same way again.
  "InternalError.JsonParseFail": "Tencent could not parse the request",
  "InternalError.RequestTimeException": "the request time is over 10 minutes off Tencent's",
  "LimitExceeded.PhoneNumberOneHourLimit": "the hourly limit of messages to this number is reached",
  "LimitExceeded.PhoneNumberDailyLimit": "the daily limit of messages to this number is reached",
  "LimitExceeded.PhoneNumberSameContentDailyLimit":
    "the daily limit of identical messages to this number is reached",
  "LimitExceeded.AppDailyLimit": "the application's daily message limit is reached",
  "LimitExceeded.DailyLimit": "the daily international message limit is reached",
  "FailedOperation.TemplateIncorrectOrUnapproved":
    "the template is not approved, or the parameters do not match it",
  "FailedOperation.SignatureIncorrectOrUnapproved": "the signature is not approved or is malformed",
  "FailedOperation.InsufficientBalanceInSmsPackage": "the SMS package balance is used up",
  "FailedOperation.PhoneNumberInBlacklist":
    "the number is on the do-not-disturb list (unsubscribed or blocked by the carrier)",
  "FailedOperation.ContainSensitiveWord": "the content contains a word Tencent refuses",
  "FailedOperation.MarketingSendTimeConstraint": "marketing messages go out only 08:00 to 22:00",
  "InvalidParameterValue.IncorrectPhoneNumber": "the phone number is malformed",
  "InvalidParameterValue.ContentLengthLimit": "the message is too long",
  "InvalidParameterValue.TemplateParameterFormatError":
    "a verification-code template takes only 0 to 6 digits as a parameter",
  "InvalidParameterValue.TemplateParameterLengthLimit":
    "a template parameter is longer than 12 characters",
  "InvalidParameterValue.SdkAppIdNotExist": "the SmsSdkAppId does not exist",
  "UnauthorizedOperation.SmsSdkAppIdVerifyFail":
    "the SmsSdkAppId does not belong to the account of the API key",
  "UnauthorizedOperation.SerivceSuspendDueToArrears": "the service is suspended for arrears",
  "UnsupportedOperation.UnsuportedRegion": "Tencent does not send to this country or region",
  "AuthFailure.SignatureFailure": "Tencent rejected the request signature (check secret_key)",
  "AuthFailure.SecretIdNotFound": "the secret_id does not exist or is disabled",
  "AuthFailure.SignatureExpire": "the request time is over 5 minutes off Tencent's clock",
};

function verdictOf(code: string, message: string | undefined): Verdict {
  const retryable = RETRYABLE[code];
  if (retryable) {
    return { retryable: true, reason: retryable };
  }
  const permanent = PERMANENT[code];
  if (permanent) {
    return { retryable: false, reason: permanent };
  }
  // Tencent's codes are `Category.Detail`; these two categories are Tencent's side or a rate
  // limit, every other (AuthFailure, FailedOperation, InvalidParameter...) is about the request.
  const category = code.split(".")[0];
  return {
    retryable: category === "InternalError" || category === "RequestLimitExceeded",
    reason: message || `Tencent answered ${code}`,
  };
}

function failure(code: string, message: string | undefined): SendOutcome {
  return { kind: "failed", code, ...verdictOf(code, message) };
}

const answerSchema = z.object({
  Response: z.object({
    Error: z.object({ Code: z.string().min(1), Message: z.string().optional() }).optional(),
    SendStatusSet: z
      .array(z.object({ SerialNo: z.string(), Code: z.string(), Message: z.string().optional() }))
      .optional(),
  }),
});

function outcomeOf(status: number, text: string): SendOutcome {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const answer = answerSchema.safeParse(json);
  if (answer.success) {
    const { Error: error, SendStatusSet: statuses } = answer.data.Response;
    if (error) {
      return failure(error.Code, error.Message);
    }
    const first = statuses?.[0];
    if (first) {
      return first.Code === "Ok"
        ? { kind: "sent", providerMessageId: first.SerialNo }
        : failure(first.Code, first.Message);
    }
  }
  if (status >= 500 || status === 429) {
    return {
      kind: "failed",
      retryable: true,
      code: `http_${status}`,
      reason: `Tencent answered HTTP ${status}`,
    };
  }
  if (status >= 200 && status < 300) {
    // Tencent took the request and said nothing we can read: it may have sent the message.
    return { kind: "unknown", reason: `Tencent answered HTTP ${status} with no send status` };
  }
  return {
    kind: "failed",
    retryable: false,
    code: `http_${status}`,
    reason: `Tencent answered HTTP ${status}`,
  };
}

function refused(code: string, reason: string): SendOutcome {
  return { kind: "failed", retryable: false, code, reason };
}

const receiptsSchema = z.array(
  z.object({
    sid: z.string().min(1),
    report_status: z.enum(["SUCCESS", "FAIL"]),
    errmsg: z.string().optional(),
    description: z.string().optional(),
  }),
);

export const tencent: SmsAdapter = {
  sendsFreeText: false,
  addsSignature: true,

  async send(request, settings, io) {
    if (request.template === null) {
      return refused(
        "template_required",
        "Tencent sends only its approved templates, and this message has no Tencent template",
      );
    }
    const secretId = configText(settings, "secret_id");
    const secretKey = settings.secrets.secret_key;
    const appId = configText(settings, "sms_sdk_app_id");
    const signName = request.signName ?? configText(settings, "sign_name");
    if (!secretId || !secretKey || !appId || !signName) {
      const missing = [
        secretId ? [] : ["config.secret_id"],
        secretKey ? [] : ["secrets.secret_key"],
        appId ? [] : ["config.sms_sdk_app_id"],
        signName ? [] : ["a signature name (config.sign_name)"],
      ].flat();
      return refused("settings_incomplete", `Tencent settings lack ${missing.join(", ")}`);
    }
    const senderId = configText(settings, "sender_id");
    const extendCode = configText(settings, "extend_code");
    const payload = JSON.stringify({
      PhoneNumberSet: [request.to],
      SmsSdkAppId: appId,
      SignName: signName,
      TemplateId: request.template.code,
      TemplateParamSet: request.template.params.map((param) => param.value),
      // Echoed back in the send status; receipts carry only the SerialNo.
      SessionContext: request.messageId,
      ...(senderId ? { SenderId: senderId } : {}),
      ...(extendCode ? { ExtendCode: extendCode } : {}),
    });
    const call = await tencentCall(settings, { secretId, secretKey }, "SendSms", payload, io.now());
    if ("invalid" in call) {
      return refused("settings_invalid", call.invalid);
    }
    const answer = await callCarrier("Tencent", io, call.url, call.init, carrierTimeout(settings));
    return answer.kind === "answer" ? outcomeOf(answer.response.status, answer.text) : answer;
  },

  // By the SessionContext each send carries (tencent-lookup.ts).
  lookup: lookupTencentMessage,

  async parseReceipt(request): Promise<Receipt[]> {
    const parsed = receiptsSchema.safeParse(await request.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ReceiptFormatError(
        "Tencent receipts are a JSON array of {sid, report_status: SUCCESS | FAIL, errmsg, description}",
      );
    }
    return parsed.data.map((receipt): Receipt => {
      if (receipt.report_status === "SUCCESS") {
        return { providerMessageId: receipt.sid, status: "delivered" };
      }
      const reason = [receipt.errmsg, receipt.description].filter(Boolean).join(" ");
      return {
        providerMessageId: receipt.sid,
        status: "undelivered",
        ...(reason ? { reason } : {}),
      };
    });
  },

  async parseInbound(request) {
    return tencentInbound(await request.json().catch(() => undefined));
  },
};
