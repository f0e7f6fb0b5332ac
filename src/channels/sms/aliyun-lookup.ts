/**
 * Whether Aliyun already has a message an earlier attempt may have sent (`lookup`), through
 * Dysmsapi's `QuerySendDetails` (RPC, signed like SendSms): one number's sends on one day, each with
 * the `OutId` our SendSms gave it (our message id), listed from the moment Aliyun took it (status 1,
 * waiting for its receipt), so a match is exact and no match is an answer too. Not quite: a
 * SendBatchSms call takes no OutId per number, so a listed send of the same template with no OutId
 * since the attempt may be ours, and cannot tell; so does a day with more sends than one page.
 * Aliyun's list gives no BizId: a message found here is recorded under `outid:<id>:<number>`, which
 * its receipt push (keyed by BizId) does not match, so it ends `expired` rather than `delivered`.
 */
import { z } from "zod";
import type {
  AdapterIO,
  LookupOutcome,
  ProviderSettings,
  SmsSendRequest,
  UnansweredAttempt,
} from "./adapter";
import { ALIYUN_DEFAULT_REGION, aliyunCall, aliyunConfig as configString } from "./aliyun-api";
import { aliyunPhoneNumber, aliyunTimestamp } from "./aliyun-params";
import { carrierTimeout, lookupCall } from "./carrier-call";

const API_VERSION = "2017-05-25";
/** QuerySendDetails pages hold at most 50 sends. */
const PAGE_SIZE = 50;
/** How far Aliyun's clock may be from ours. */
const CLOCK_MARGIN_MS = 120_000;
/** Aliyun keeps and reports its days and times in China Standard Time (UTC+8). */
const CHINA_OFFSET_MS = 8 * 3_600_000;

const answerSchema = z.object({
  Code: z.string(),
  Message: z.string().optional(),
  TotalCount: z.union([z.string(), z.number()]).optional(),
  SmsSendDetailDTOs: z
    .object({
      SmsSendDetailDTO: z.array(
        z.object({
          OutId: z.string().nullish(),
          PhoneNum: z.string().nullish(),
          TemplateCode: z.string().nullish(),
          SendDate: z.string().nullish(),
        }),
      ),
    })
    .optional(),
});

export async function lookupAliyunMessage(
  request: SmsSendRequest,
  attempt: UnansweredAttempt,
  settings: ProviderSettings,
  io: AdapterIO,
  nonce: () => string,
): Promise<LookupOutcome> {
  const phoneNumber = aliyunPhoneNumber(request.to);
  const accessKeyId = configString(settings, "access_key_id");
  const accessKeySecret = settings.secrets.access_key_secret;
  if (phoneNumber === null || !accessKeyId || !accessKeySecret) {
    return {
      kind: "cannot_tell",
      reason: "no E.164 number, or the Aliyun credentials are missing",
    };
  }
  const since = attempt.startedAt - CLOCK_MARGIN_MS;
  // The attempt's day and today, in China: an attempt just before midnight is listed on its day.
  const days = [...new Set([chinaDay(since), chinaDay(io.now())])];
  let absent = true;
  for (const day of days) {
    const params: Record<string, string> = {
      AccessKeyId: accessKeyId,
      Action: "QuerySendDetails",
      CurrentPage: "1",
      Format: "JSON",
      PageSize: String(PAGE_SIZE),
      PhoneNumber: phoneNumber,
      RegionId: configString(settings, "region") ?? ALIYUN_DEFAULT_REGION,
      SendDate: day,
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: nonce(),
      SignatureVersion: "1.0",
      Timestamp: aliyunTimestamp(io.now()),
      Version: API_VERSION,
    };
    const { url, init } = await aliyunCall(settings, params, accessKeySecret);
    const answer = await lookupCall("Aliyun", io, url, init, carrierTimeout(settings));
    if (answer.kind !== "answer") {
      return answer;
    }
    const outcome = detailsOf(answer.text, request, phoneNumber, since);
    if (outcome.kind === "found") {
      return outcome;
    }
    absent &&= outcome.kind === "absent";
    if (outcome.kind === "cannot_tell" && days.length === 1) {
      return outcome;
    }
  }
  return absent
    ? { kind: "absent" }
    : { kind: "cannot_tell", reason: "Aliyun's send details cannot say for one of the days" };
}

/** Our message among one day's send details, by its OutId. */
export function detailsOf(
  text: string,
  request: Pick<SmsSendRequest, "messageId" | "template">,
  phoneNumber: string,
  since: number,
): LookupOutcome {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: "cannot_tell", reason: "Aliyun's QuerySendDetails answered no JSON" };
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) {
    return { kind: "cannot_tell", reason: "Aliyun's QuerySendDetails answered an unknown shape" };
  }
  if (parsed.data.Code !== "OK") {
    return { kind: "cannot_tell", reason: `Aliyun's QuerySendDetails: ${parsed.data.Code}` };
  }
  const details = parsed.data.SmsSendDetailDTOs?.SmsSendDetailDTO ?? [];
  if (details.some((d) => d.OutId === request.messageId)) {
    return { kind: "found", providerMessageId: `outid:${request.messageId}:${phoneNumber}` };
  }
  const batchSent = details.some(
    (d) =>
      !d.OutId &&
      d.TemplateCode === request.template?.code &&
      (d.SendDate ? Date.parse(`${d.SendDate.replace(" ", "T")}+08:00`) : Number.NaN) >= since,
  );
  if (batchSent) {
    return {
      kind: "cannot_tell",
      reason:
        "Aliyun lists a send of this template with no OutId (a SendBatchSms) since the attempt",
    };
  }
  if (Number(parsed.data.TotalCount ?? details.length) > details.length) {
    return { kind: "cannot_tell", reason: "Aliyun lists more sends that day than one page holds" };
  }
  return { kind: "absent" };
}

/** `yyyyMMdd` of a moment, in China. */
function chinaDay(epochMs: number): string {
  return new Date(epochMs + CHINA_OFFSET_MS).toISOString().slice(0, 10).replaceAll("-", "");
}
