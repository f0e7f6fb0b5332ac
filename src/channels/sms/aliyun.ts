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
  type ProviderSettings,
  type Receipt,
  ReceiptFormatError,
  type SendOutcome,
  type SmsAdapter,
  type SmsSendRequest,
} from "./adapter";
import { ALIYUN_DEFAULT_REGION, aliyunCall, aliyunConfig as configString } from "./aliyun-api";
import { aliyunInbound } from "./aliyun-inbound";
import { lookupAliyunMessage } from "./aliyun-lookup";
import { aliyunPhoneNumber, aliyunTimestamp } from "./aliyun-params";
import { outcomeOf, permanent } from "./aliyun-replies";
import { callCarrier, carrierTimeout } from "./carrier-call";

// SendSms is served from the one endpoint above whatever the region; cn-hangzhou is what
// Alibaba's documentation and SDKs send.
const API_VERSION = "2017-05-25";

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
    // Replies come from the account's SmsUp push, set up in the console like SmsReport.
    parseInbound: async (request) => aliyunInbound(await request.json().catch(() => undefined)),
    // By the OutId each SendSms carries (aliyun-lookup.ts).
    lookup: (request, attempt, settings, io) =>
      lookupAliyunMessage(request, attempt, settings, io, nonce),
  };
}

export const aliyun: SmsAdapter = createAliyunAdapter();

export { aliyunPhoneNumber, aliyunTimestamp } from "./aliyun-params";

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
    RegionId: configString(settings, "region") ?? ALIYUN_DEFAULT_REGION,
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
  return forNumber(await call(params, accessKeySecret, settings, io), phoneNumber);
}

/** One signed RPC call (SendSms or SendBatchSms) and what its answer means. */
async function call(
  params: Record<string, string>,
  accessKeySecret: string,
  settings: ProviderSettings,
  io: AdapterIO,
): Promise<SendOutcome> {
  const { url, init } = await aliyunCall(settings, params, accessKeySecret);
  // No answer in time: the message may have gone. A redirect: Aliyun's endpoint is not there.
  const answer = await callCarrier("Aliyun", io, url, init, carrierTimeout(settings));
  return answer.kind === "answer" ? outcomeOf(answer.response.status, answer.text) : answer;
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
      RegionId: configString(settings, "region") ?? ALIYUN_DEFAULT_REGION,
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
    const outcome = await call(params, accessKeySecret, settings, io);
    for (const g of going) {
      outcomes[g.index] = forNumber(outcome, g.phone);
    }
  }
  return outcomes.map((o) => o ?? permanent("not_sent", "not part of the call"));
}

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
