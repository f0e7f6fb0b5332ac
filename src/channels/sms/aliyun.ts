/**
 * Aliyun (Alibaba Cloud) SMS through Dysmsapi 2017-05-25 `SendSms`, and `SendBatchSms` for up to
 * 100 messages from one template at once (the consumer gathers them). Aliyun sends only templates
 * approved in the tenant's Aliyun account, and puts the approved signature (SignName) in itself.
 * Each call is an RPC-style POST, its parameters form-encoded in the body and signed with HMAC-SHA1
 * (aliyun-signature.ts), as Alibaba's own `@alicloud/pop-core` sends them; keeping the number and
 * the template values out of the URL keeps them out of access logs.
 * Delivery receipts come from the account's "HTTP batch push" (SmsReport), whose URL is set once in
 * the Aliyun console, not per message: `statusCallbackUrl` is not sent.
 */
import { z } from "zod";
import {
  type AdapterIO,
  DEFAULT_TIMEOUT_MS,
  type ProviderSettings,
  type Receipt,
  ReceiptFormatError,
  type SendOutcome,
  type SmsAdapter,
  type SmsSendRequest,
} from "./adapter";
import { signedRpcQuery } from "./aliyun-signature";

const DEFAULT_BASE_URL = "https://dysmsapi.aliyuncs.com";
// SendSms is served from the one endpoint above whatever the region; cn-hangzhou is what
// Alibaba's documentation and SDKs send.
const DEFAULT_REGION = "cn-hangzhou";
const API_VERSION = "2017-05-25";
/** Aliyun's messages can be long (SignatureDoesNotMatch repeats the whole string to sign). */
const MAX_MESSAGE_CHARS = 200;

export interface AliyunAdapterOptions {
  /** SignatureNonce for each request: a fresh UUID unless a test fixes it. */
  nonce?: () => string;
}

export function createAliyunAdapter(options: AliyunAdapterOptions = {}): SmsAdapter {
  const nonce = options.nonce ?? (() => crypto.randomUUID());
  return {
    sendsFreeText: false,
    addsSignature: true,
    send: (request, settings, io) => sendSms(request, settings, io, nonce),
    sendMany: (requests, settings, io) => sendBatchSms(requests, settings, io, nonce),
    // SendBatchSms takes at most 100 numbers a call.
    maxPerCall: 100,
    parseReceipt,
  };
}

export const aliyun: SmsAdapter = createAliyunAdapter();

/**
 * SendSms's `PhoneNumbers`: a mainland number may go bare (the documentation also allows +86,
 * 0086 or 86 in front), any other number as country code and number with no `+` (`852…`).
 * Null for anything that is not E.164.
 */
export function aliyunPhoneNumber(e164: string): string | null {
  if (!/^\+[1-9]\d{5,14}$/.test(e164)) {
    return null;
  }
  // Country codes are prefix-free, so +86 followed by anything is the Chinese mainland.
  return e164.startsWith("+86") ? e164.slice(3) : e164.slice(1);
}

/** Aliyun wants ISO 8601 in UTC to the second (`2017-07-12T02:42:19Z`), no milliseconds. */
export function aliyunTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function sendSms(
  request: SmsSendRequest,
  settings: ProviderSettings,
  io: AdapterIO,
  nonce: () => string,
): Promise<SendOutcome> {
  if (request.template === null) {
    return permanent("template_required", "Aliyun sends only approved templates");
  }
  const phoneNumber = aliyunPhoneNumber(request.to);
  if (phoneNumber === null) {
    return permanent("invalid_number", "the recipient is not an E.164 number");
  }
  const accessKeyId = configString(settings, "access_key_id");
  const accessKeySecret = settings.secrets.access_key_secret;
  if (!accessKeyId || !accessKeySecret) {
    return permanent(
      "credentials_missing",
      "the Aliyun settings need access_key_id and the access_key_secret credential",
    );
  }
  const signName = request.signName || configString(settings, "sign_name");
  if (!signName) {
    return permanent("sign_name_required", "Aliyun needs a signature name (SignName)");
  }
  const params: Record<string, string> = {
    AccessKeyId: accessKeyId,
    Action: "SendSms",
    Format: "JSON",
    OutId: request.messageId,
    PhoneNumbers: phoneNumber,
    RegionId: configString(settings, "region") ?? DEFAULT_REGION,
    SignName: signName,
    SignatureMethod: "HMAC-SHA1",
    SignatureNonce: nonce(),
    SignatureVersion: "1.0",
    TemplateCode: request.template.code,
    Timestamp: aliyunTimestamp(io.now()),
    Version: API_VERSION,
  };
  // Required when the template has variables; Aliyun accepts only string values.
  if (request.template.params.length > 0) {
    params.TemplateParam = JSON.stringify(
      Object.fromEntries(request.template.params.map((param) => [param.name, param.value])),
    );
  }
  const baseUrl = (configString(settings, "base_url") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  const answer = await exchange(
    `${baseUrl}/`,
    {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: await signedRpcQuery("POST", params, accessKeySecret),
    },
    io,
    configTimeout(settings),
  );
  if (answer.kind === "none") {
    return { kind: "unknown", reason: answer.reason };
  }
  return forNumber(outcomeOf(answer.status, answer.text), phoneNumber);
}

/**
 * One BizId covers every number of a SendBatchSms call, and the receipt push names the BizId and
 * the number: a message's id at Aliyun is the pair (for SendSms too, so the receipts match alike).
 */
function forNumber(outcome: SendOutcome, phoneNumber: string): SendOutcome {
  return outcome.kind === "sent"
    ? { kind: "sent", providerMessageId: `${outcome.providerMessageId}:${phoneNumber}` }
    : outcome;
}

/**
 * SendBatchSms: one template to up to 100 numbers, each with its signature and parameters. The
 * answer is one for all: each message gets it (with its own id, see `forNumber`). Requests that
 * cannot go (no template, a bad number) get their refusal without taking part.
 */
async function sendBatchSms(
  requests: SmsSendRequest[],
  settings: ProviderSettings,
  io: AdapterIO,
  nonce: () => string,
): Promise<SendOutcome[]> {
  const outcomes: (SendOutcome | undefined)[] = requests.map(() => undefined);
  const accessKeyId = configString(settings, "access_key_id");
  const accessKeySecret = settings.secrets.access_key_secret;
  if (!accessKeyId || !accessKeySecret) {
    return requests.map(() =>
      permanent(
        "credentials_missing",
        "the Aliyun settings need access_key_id and the access_key_secret credential",
      ),
    );
  }
  const going: {
    index: number;
    phone: string;
    signName: string;
    params: Record<string, string>;
  }[] = [];
  const code = requests.find((r) => r.template !== null)?.template?.code;
  requests.forEach((request, index) => {
    const phone = aliyunPhoneNumber(request.to);
    const signName = request.signName || configString(settings, "sign_name");
    if (request.template === null || request.template.code !== code) {
      outcomes[index] = permanent("template_required", "Aliyun sends only approved templates");
    } else if (phone === null) {
      outcomes[index] = permanent("invalid_number", "the recipient is not an E.164 number");
    } else if (!signName) {
      outcomes[index] = permanent("sign_name_required", "Aliyun needs a signature name (SignName)");
    } else {
      going.push({
        index,
        phone,
        signName,
        params: Object.fromEntries(request.template.params.map((p) => [p.name, p.value])),
      });
    }
  });
  if (going.length > 0 && code) {
    const params: Record<string, string> = {
      AccessKeyId: accessKeyId,
      Action: "SendBatchSms",
      Format: "JSON",
      PhoneNumberJson: JSON.stringify(going.map((g) => g.phone)),
      RegionId: configString(settings, "region") ?? DEFAULT_REGION,
      SignNameJson: JSON.stringify(going.map((g) => g.signName)),
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: nonce(),
      SignatureVersion: "1.0",
      TemplateCode: code,
      Timestamp: aliyunTimestamp(io.now()),
      Version: API_VERSION,
    };
    if (going.some((g) => Object.keys(g.params).length > 0)) {
      params.TemplateParamJson = JSON.stringify(going.map((g) => g.params));
    }
    const baseUrl = (configString(settings, "base_url") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    const answer = await exchange(
      `${baseUrl}/`,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: await signedRpcQuery("POST", params, accessKeySecret),
      },
      io,
      configTimeout(settings),
    );
    const outcome: SendOutcome =
      answer.kind === "none"
        ? { kind: "unknown", reason: answer.reason }
        : outcomeOf(answer.status, answer.text);
    for (const g of going) {
      outcomes[g.index] = forNumber(outcome, g.phone);
    }
  }
  return outcomes.map((o) => o ?? permanent("not_sent", "not part of the call"));
}

type Answer = { kind: "answer"; status: number; text: string } | { kind: "none"; reason: string };

/** The whole answer (status and body) within the time-out, or why there is none. */
async function exchange(
  url: string,
  init: RequestInit,
  io: AdapterIO,
  timeoutMs: number,
): Promise<Answer> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timedOut = new Promise<Answer>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ kind: "none", reason: `no answer from Aliyun within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const answered = (async (): Promise<Answer> => {
    try {
      const response = await io.fetch(new Request(url, { ...init, signal: controller.signal }));
      return { kind: "answer", status: response.status, text: await response.text() };
    } catch (error) {
      return { kind: "none", reason: `the request to Aliyun failed: ${String(error)}` };
    }
  })();
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

const replySchema = z.object({
  Code: z.string().min(1),
  Message: z.string().optional(),
  BizId: z.string().optional(),
  RequestId: z.string().optional(),
});

function outcomeOf(status: number, text: string): SendOutcome {
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

const reportSchema = z.object({
  biz_id: z.string().min(1),
  phone_number: z.string().nullish(),
  success: z.boolean(),
  err_code: z.string().nullish(),
  err_msg: z.string().nullish(),
  out_id: z.string().nullish(),
});

// Documented as always an array, one push holding the reports of many sends.
const reportsSchema = z.array(reportSchema).min(1);

async function parseReceipt(request: Request): Promise<Receipt[]> {
  const parsed = reportsSchema.safeParse(await request.json().catch(() => undefined));
  if (!parsed.success) {
    throw new ReceiptFormatError(
      "Aliyun's SmsReport is a JSON array of {biz_id, success, err_code, err_msg, out_id, …}",
    );
  }
  return parsed.data.map((report) => {
    const receipt: Receipt = {
      providerMessageId: report.phone_number
        ? `${report.biz_id}:${report.phone_number}`
        : report.biz_id,
      status: report.success ? "delivered" : "undelivered",
    };
    if (report.out_id) {
      receipt.messageId = report.out_id;
    }
    if (!report.success) {
      receipt.reason = `${report.err_code ?? ""} ${report.err_msg ?? ""}`.trim() || "undelivered";
    }
    return receipt;
  });
}

function permanent(code: string, reason: string): SendOutcome {
  return { kind: "failed", retryable: false, code, reason };
}

function retryable(code: string, reason: string): SendOutcome {
  return { kind: "failed", retryable: true, code, reason };
}

function configString(settings: ProviderSettings, key: string): string | undefined {
  const value = settings.config[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function configTimeout(settings: ProviderSettings): number {
  const value = settings.config.timeout_ms;
  return typeof value === "number" && value > 0 ? value : DEFAULT_TIMEOUT_MS;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
