/**
 * Twilio Programmable Messaging: sends through the Messages resource
 * (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP Basic auth) and reads
 * the status callbacks Twilio posts to `StatusCallback`, checking `X-Twilio-Signature` first.
 *
 * Settings: config `account_sid` (required), `messaging_service_sid` or `from` (one is required
 * unless the request names its own sender), `base_url` (default https://api.twilio.com),
 * `timeout_ms`; secrets `auth_token` (required to check callbacks, and to send unless an API key
 * is given as `api_key_sid` + `api_key_secret`).
 */
import {
  type InboundMessage,
  type ProviderSettings,
  type Receipt,
  ReceiptFormatError,
  type SendOutcome,
  type SmsAdapter,
  type SmsSendRequest,
} from "./adapter";
import { callCarrier, carrierTimeout } from "./carrier-call";
import { twilioInbound, verifiedTwilioFields } from "./twilio-inbound";
import { credentialsOf, lookupTwilioMessage } from "./twilio-lookup";

const DEFAULT_BASE_URL = "https://api.twilio.com";

interface KnownError {
  retryable: boolean;
  reason: string;
}

const permanent = (reason: string): KnownError => ({ retryable: false, reason });
const temporary = (reason: string): KnownError => ({ retryable: true, reason });

/**
 * Twilio error codes worth naming, from its Error and Warning Dictionary
 * (https://www.twilio.com/docs/api/errors/{code}). Send-time codes come back in the 4xx body;
 * 30xxx delivery codes come back as `ErrorCode` in status callbacks (and rarely at send time).
 * Retryable means the same request may succeed later without anyone changing anything.
 */
const TWILIO_ERRORS: Readonly<Record<number, KnownError>> = {
  20003: permanent("Twilio refused the credentials (wrong SID/token or key, or account suspended)"),
  20403: permanent("the Twilio account may not use the API (suspended or closed)"),
  // Twilio: "An API Request that receives an error 429 response is never processed".
  20429: temporary("too many concurrent requests to Twilio"),
  20503: temporary("the Twilio service is temporarily unavailable"),
  21211: permanent("the 'To' number is not a valid phone number"),
  21265: permanent("the 'To' number is a short code, which Twilio numbers cannot message"),
  21266: permanent("the 'To' and 'From' numbers are the same"),
  21401: permanent("the number is not a valid SMS-enabled number or alphanumeric sender ID"),
  21408: permanent("the destination country is not enabled in Messaging Geo Permissions"),
  21602: permanent("the message body is empty"),
  21603: permanent("no 'From' or 'MessagingServiceSid' was given"),
  21604: permanent("no 'To' number was given"),
  21606: permanent("the 'From' number cannot send messages to this destination or account"),
  21608: permanent("the trial account can only message verified numbers"),
  21610: permanent("the recipient has opted out (replied STOP) of messages from this sender"),
  // The sender's queue holds hours of messages already; it drains at the sender's rate.
  21611: temporary("the 'From' number's queue of waiting messages is full"),
  21612: permanent("this 'To' cannot be reached from this 'From' (sender rules or no route)"),
  21614: permanent("the 'To' number is not a valid mobile number (landline or invalid)"),
  21617: permanent("the message body exceeds Twilio's 1600-character limit"),
  21635: permanent("the 'To' number is a landline"),
  21659: permanent("the 'From' number is not a Twilio number, or a short code in another country"),
  21660: permanent("the 'From' number does not belong to this account"),
  21701: permanent("the Messaging Service does not exist in this account"),
  21705: permanent("the Messaging Service SID is invalid"),
  21730: temporary("Twilio messaging is under scheduled maintenance"),
  30001: temporary("the sender's queue overflowed"),
  30002: permanent("the Twilio account was suspended before the message was sent"),
  30003: permanent("the destination handset is unreachable"),
  30004: permanent("the message was blocked"),
  30005: permanent("the destination number is unknown or no longer exists"),
  30006: permanent("the destination is a landline or its carrier is unreachable"),
  30007: permanent("the carrier filtered the message"),
  30008: permanent("the carrier reported an unknown error"),
  30036: permanent("the message expired in Twilio's queue (validity period)"),
  // A rolling 24-hour limit: a retry within the dispatcher's backoff would meet it again.
  63038: permanent("the account reached its daily message limit"),
};

/** MessageStatus values that are not final: the callback is acknowledged and nothing changes. */
const NOT_FINAL = new Set(["accepted", "scheduled", "queued", "sending", "sent"]);

export const twilio: SmsAdapter = {
  sendsFreeText: true,
  addsSignature: false,

  async send(request, settings, io) {
    const prepared = messageRequest(request, settings);
    if ("kind" in prepared) {
      return prepared;
    }
    // A timeout or a broken connection is "unknown": Twilio may have created the message.
    const answer = await callCarrier(
      "Twilio",
      io,
      prepared.url,
      prepared.init,
      carrierTimeout(settings),
    );
    return answer.kind === "answer" ? outcomeOf(answer.response, answer.text) : answer;
  },

  // Twilio takes no client reference: the lookup matches To, Body and the time (twilio-lookup.ts).
  lookup: lookupTwilioMessage,

  async parseReceipt(request, context): Promise<Receipt[]> {
    const fields = await verifiedTwilioFields(request, context);
    return receiptsOf({
      sid: fields.MessageSid,
      status: fields.MessageStatus,
      errorCode: fields.ErrorCode,
    });
  },

  async parseInbound(request, context): Promise<InboundMessage[]> {
    return [twilioInbound(await verifiedTwilioFields(request, context), context.now)];
  },
};

/** The Messages create request, or a permanent failure when a setting it needs is missing. */
function messageRequest(
  request: SmsSendRequest,
  settings: ProviderSettings,
): { url: string; init: RequestInit } | Extract<SendOutcome, { kind: "failed" }> {
  const accountSid = configString(settings, "account_sid");
  if (!accountSid) {
    return misconfigured("twilio_missing_account_sid", "config.account_sid is not set");
  }
  const credentials = credentialsOf(settings, accountSid);
  if (!credentials) {
    return misconfigured(
      "twilio_missing_credentials",
      "secrets.auth_token (or secrets.api_key_sid with secrets.api_key_secret) is not set",
    );
  }
  const messagingServiceSid = configString(settings, "messaging_service_sid");
  // A Messaging Service picks the sender from its pool; an explicit sender is still honoured.
  const from = request.from ?? (messagingServiceSid ? undefined : configString(settings, "from"));
  if (!messagingServiceSid && !from) {
    return misconfigured(
      "twilio_missing_sender",
      "neither config.messaging_service_sid nor config.from is set, and the message names no sender",
    );
  }
  const form = new URLSearchParams({ To: request.to });
  if (messagingServiceSid) {
    form.append("MessagingServiceSid", messagingServiceSid);
  }
  if (from) {
    form.append("From", from);
  }
  form.append("Body", request.body);
  form.append("StatusCallback", request.statusCallbackUrl);
  const baseUrl = (configString(settings, "base_url") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  return {
    url: `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`,
    init: {
      method: "POST",
      headers: {
        authorization: `Basic ${credentials}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: form.toString(),
    },
  };
}

function outcomeOf(response: Response, text: string): SendOutcome {
  if (response.ok) {
    const sid = jsonObject(text)?.sid;
    if (typeof sid === "string" && sid !== "") {
      return { kind: "sent", providerMessageId: sid };
    }
    // A 2xx means the message was created; without its sid we cannot follow it.
    return { kind: "unknown", reason: `Twilio answered ${response.status} without a message sid` };
  }
  const error = jsonObject(text);
  const code = typeof error?.code === "number" ? error.code : null;
  const message = typeof error?.message === "string" ? error.message : null;
  const known = code === null ? undefined : TWILIO_ERRORS[code];
  // 429 is never processed; 5xx is Twilio's own trouble. Both may pass on a later attempt.
  const retryable =
    response.status === 429 || response.status >= 500 || (known?.retryable ?? false);
  const said = message ?? (response.statusText || `HTTP ${response.status}`);
  return {
    kind: "failed",
    retryable,
    code: code === null ? `twilio_http_${response.status}` : `twilio_${code}`,
    reason: known ? `${known.reason} (Twilio: ${said})` : said,
  };
}

type CallbackFields = { sid?: string; status?: string; errorCode?: string };

function receiptsOf(fields: CallbackFields): Receipt[] {
  const { sid, status, errorCode } = fields;
  if (!sid || !status) {
    throw new ReceiptFormatError("a Twilio status callback has MessageSid and MessageStatus");
  }
  if (NOT_FINAL.has(status)) {
    return [];
  }
  if (status === "delivered" || status === "read") {
    return [{ providerMessageId: sid, status: "delivered" }];
  }
  if (status === "undelivered" || status === "failed" || status === "canceled") {
    return [
      { providerMessageId: sid, status: "undelivered", reason: failureReason(status, errorCode) },
    ];
  }
  throw new ReceiptFormatError(`unknown Twilio MessageStatus "${status}"`);
}

function failureReason(status: string, errorCode: string | undefined): string {
  if (!errorCode || errorCode === "0") {
    return `Twilio: ${status}`;
  }
  const known = TWILIO_ERRORS[Number(errorCode)];
  return `Twilio: ${status}, error ${errorCode}${known ? ` (${known.reason})` : ""}`;
}

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function configString(settings: ProviderSettings, key: string): string | undefined {
  const value = settings.config[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function misconfigured(code: string, reason: string): Extract<SendOutcome, { kind: "failed" }> {
  return { kind: "failed", retryable: false, code, reason: `Twilio settings: ${reason}` };
}
