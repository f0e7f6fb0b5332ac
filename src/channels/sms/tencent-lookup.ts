/**
 * Whether Tencent already has a message an earlier attempt may have sent (`lookup`):
 * `PullSmsSendStatusByPhoneNumber` (API 2021-01-11, TC3-signed like `SendSms`) lists the number's
 * send statuses since a time, each with the `SessionContext` our send gave it (our message id), so
 * a match is exact. Tencent lists a message there once its delivery report has come, not before:
 * a message it took whose report is still on its way is not listed yet, so finding nothing cannot
 * tell (the consumer then sends as before lookups); only finding ours is an answer.
 */
import { z } from "zod";
import type {
  AdapterIO,
  LookupOutcome,
  ProviderSettings,
  SmsSendRequest,
  UnansweredAttempt,
} from "./adapter";
import { carrierTimeout, lookupCall } from "./carrier-call";
import { tencentConfig as configText, tencentCall } from "./tencent-api";

/** Tencent returns at most 100 statuses a call. */
const LIMIT = 100;
/** How far Tencent's clock may be from ours. */
const CLOCK_MARGIN_MS = 120_000;

const answerSchema = z.object({
  Response: z.object({
    Error: z.object({ Code: z.string(), Message: z.string().optional() }).optional(),
    PullSmsSendStatusSet: z
      .array(z.object({ SerialNo: z.string(), SessionContext: z.string().nullish() }))
      .optional(),
  }),
});

export async function lookupTencentMessage(
  request: SmsSendRequest,
  attempt: UnansweredAttempt,
  settings: ProviderSettings,
  io: AdapterIO,
): Promise<LookupOutcome> {
  const secretId = configText(settings, "secret_id");
  const secretKey = settings.secrets.secret_key;
  const appId = configText(settings, "sms_sdk_app_id");
  if (!secretId || !secretKey || !appId) {
    return {
      kind: "cannot_tell",
      reason: "the Tencent settings lack secret_id, secret_key or app",
    };
  }
  const payload = JSON.stringify({
    BeginTime: Math.floor((attempt.startedAt - CLOCK_MARGIN_MS) / 1000),
    EndTime: Math.ceil((io.now() + CLOCK_MARGIN_MS) / 1000),
    Offset: 0,
    Limit: LIMIT,
    PhoneNumber: request.to,
    SmsSdkAppId: appId,
  });
  const call = await tencentCall(
    settings,
    { secretId, secretKey },
    "PullSmsSendStatusByPhoneNumber",
    payload,
    io.now(),
  );
  if ("invalid" in call) {
    return { kind: "cannot_tell", reason: call.invalid };
  }
  const answer = await lookupCall("Tencent", io, call.url, call.init, carrierTimeout(settings));
  if (answer.kind !== "answer") {
    return answer;
  }
  return statusesOf(answer.text, request.messageId);
}

/** Our message among the statuses Tencent answered with, found by its `SessionContext`. */
export function statusesOf(text: string, messageId: string): LookupOutcome {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: "cannot_tell", reason: "Tencent's status pull answered no JSON" };
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) {
    return { kind: "cannot_tell", reason: "Tencent's status pull answered an unknown shape" };
  }
  const { Error: error, PullSmsSendStatusSet: statuses } = parsed.data.Response;
  if (error) {
    return { kind: "cannot_tell", reason: `Tencent's status pull: ${error.Code}` };
  }
  const ours = (statuses ?? []).find((status) => status.SessionContext === messageId);
  if (ours) {
    return { kind: "found", providerMessageId: ours.SerialNo };
  }
  return {
    kind: "cannot_tell",
    reason: "Tencent lists a message only once its delivery report came, and has none for it",
  };
}
