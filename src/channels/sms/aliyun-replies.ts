/**
 * What Aliyun's answers mean: `Code: "OK"` is sent; its documented error codes are retryable
 * (flow control, its own faults) or permanent (the number, the template, the account), each with
 * a readable reason; an answer we cannot read after HTTP 2xx may still mean sent.
 */
import { z } from "zod";
import type { SendOutcome } from "./adapter";

/** Aliyun's messages can be long (SignatureDoesNotMatch repeats the whole string to sign). */
const MAX_MESSAGE_CHARS = 200;

const replySchema = z.object({
  Code: z.string().min(1),
  Message: z.string().optional(),
  BizId: z.string().optional(),
  RequestId: z.string().optional(),
});

export function outcomeOf(status: number, text: string): SendOutcome {
  const parsed = replySchema.safeParse(parseJson(text));
  if (!parsed.success) {
    if (status === 429 || status >= 500) {
      return retryable(`http_${status}`, `Aliyun answered HTTP ${status}`);
    }
    if (status >= 200 && status < 300) {
      // An answer we cannot read may still mean "sent": only the receipt can tell.
      return { kind: "unknown", reason: `Aliyun answered HTTP ${status} with an unreadable body` };
    }
    return permanent(`http_${status}`, `Aliyun answered HTTP ${status} without an error code`);
  }
  const reply = parsed.data;
  if (reply.Code === "OK") {
    if (reply.BizId) {
      return { kind: "sent", providerMessageId: reply.BizId };
    }
    return { kind: "unknown", reason: "Aliyun accepted the message but returned no BizId" };
  }
  const retryMeaning = entryOf(RETRYABLE, reply.Code);
  const refusalMeaning = entryOf(PERMANENT, reply.Code);
  const throttled = reply.Code.startsWith("Throttling") ? "Aliyun's API rate limit" : undefined;
  const meaning = retryMeaning ?? refusalMeaning ?? throttled;
  // A code we do not know is a refusal like the others, unless Aliyun's side failed (5xx).
  const isRetryable =
    meaning === undefined ? status === 429 || status >= 500 : refusalMeaning === undefined;
  const said =
    reply.Message && !ECHOES_REQUEST.has(reply.Code)
      ? ` (Aliyun: ${reply.Message.slice(0, MAX_MESSAGE_CHARS)})`
      : "";
  const requestId = reply.RequestId ? `; RequestId ${reply.RequestId}` : "";
  return {
    kind: "failed",
    retryable: isRetryable,
    code: reply.Code,
    reason: `${meaning ?? "Aliyun refused the message"}${said}${requestId}`,
  };
}

/*
 * SendSms's documented error codes ("API error codes", help.aliyun.com document 101346) and the
 * OpenAPI gateway's, with what each means in a reason. Retryable: what a later attempt can get
 * past. Permanent: what needs the number, the template, the signature or the tenant's Aliyun
 * account changed. The daily and monthly caps are permanent too: they are limits the tenant set in
 * the Aliyun console, they hold until the next day (month) or until the tenant raises them, far
 * past our retry backoff, so retrying would only spend the attempts and hold back the final state
 * the tenant needs to see.
 */
const RETRYABLE: Readonly<Record<string, string>> = {
  "isv.BUSINESS_LIMIT_CONTROL": "Aliyun's flow control for this number (a minute, an hour, a day)",
  "isp.SYSTEM_ERROR": "an error inside Aliyun",
  InternalError: "an error inside Aliyun",
  ServiceUnavailable: "Aliyun is unavailable",
  SignatureNonceUsed: "Aliyun saw this SignatureNonce before",
};

const PERMANENT: Readonly<Record<string, string>> = {
  "isv.MOBILE_NUMBER_ILLEGAL": "Aliyun does not accept the number",
  "isv.MOBILE_COUNT_OVER_LIMIT": "too many numbers in one request",
  "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": "an international template cannot go to a mainland number",
  "isv.SMS_TEMPLATE_ILLEGAL": "the template code is not approved in this Aliyun account",
  "isv.TEMPLATE_MISSING_PARAMETERS": "the template has variables this message does not fill",
  "isv.TEMPLATE_PARAMS_ILLEGAL": "a template value breaks Aliyun's rules",
  "isv.INVALID_JSON_PARAM": "Aliyun could not read TemplateParam",
  "isv.PARAM_LENGTH_LIMIT": "a template value is too long",
  "isv.PARAM_NOT_SUPPORT_URL": "a template value holds a URL",
  "isv.INVALID_PARAMETERS": "Aliyun refused a parameter",
  "isv.SMS_CONTENT_ILLEGAL": "the content is forbidden",
  "isv.SMS_SIGNATURE_ILLEGAL": "the signature name is not approved in this Aliyun account",
  "isv.SMS_SIGN_ILLEGAL": "the signature is banned",
  "isv.SIGN_STATE_ILLEGAL": "the signature is marked unusable",
  "isv.SMS_SIGNATURE_SCENE_ILLEGAL": "the signature's type does not allow this template's type",
  "isv.BLACK_KEY_CONTROL_LIMIT": "blocked by Aliyun's blacklist",
  "isv.AMOUNT_NOT_ENOUGH": "the Aliyun account's balance is too low",
  "isv.OUT_OF_SERVICE": "the Aliyun account is out of service",
  "isv.DAY_LIMIT_CONTROL": "the Aliyun account reached the daily cap set in its console",
  "isv.MONTH_LIMIT_CONTROL": "the Aliyun account reached the monthly cap set in its console",
  "isv.DENY_IP_RANGE": "Aliyun refuses mainland messages sent from outside the Chinese mainland",
  "isp.RAM_PERMISSION_DENY": "the AccessKey's RAM user may not send SMS",
  "isv.PRODUCT_UN_SUBSCRIPT": "the Aliyun account has no SMS service",
  "isv.PRODUCT_UNSUBSCRIBE": "the Aliyun account has no SMS service",
  "isv.ACCOUNT_NOT_EXISTS": "the Aliyun account does not exist",
  "isv.ACCOUNT_ABNORMAL": "the Aliyun account is abnormal",
  SignatureDoesNotMatch: "Aliyun computed another signature: check access_key_secret",
  IncompleteSignature: "Aliyun found the signature incomplete",
  "InvalidAccessKeyId.NotFound": "the access_key_id does not exist",
  "InvalidAccessKeyId.Inactive": "the access_key_id is disabled",
};

/** Own keys only: a Code such as "constructor" must not find Object.prototype's. */
function entryOf(table: Readonly<Record<string, string>>, code: string): string | undefined {
  return Object.hasOwn(table, code) ? table[code] : undefined;
}

/** Their message repeats the string to sign: the number and the template values (codes). */
const ECHOES_REQUEST = new Set(["SignatureDoesNotMatch", "IncompleteSignature"]);

export function permanent(code: string, reason: string): SendOutcome {
  return { kind: "failed", retryable: false, code, reason };
}

export function retryable(code: string, reason: string): SendOutcome {
  return { kind: "failed", retryable: true, code, reason };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
