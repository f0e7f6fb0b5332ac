/**
 * One Tencent Cloud SMS API call (API 2021-01-11): where it goes and how it is signed
 * (TC3-HMAC-SHA256, tencent-signature.ts). `SendSms` (tencent.ts) and
 * `PullSmsSendStatusByPhoneNumber` (tencent-lookup.ts) differ only in their action and payload.
 */
import type { ProviderSettings } from "./adapter";
import { signTc3Request } from "./tencent-signature";

const DEFAULT_BASE_URL = "https://sms.tencentcloudapi.com";
const DEFAULT_REGION = "ap-guangzhou";
const CONTENT_TYPE = "application/json; charset=utf-8";
const VERSION = "2021-01-11";

/** A config value as trimmed text (numbers, such as an app id typed as one, included). */
export function tencentConfig(settings: ProviderSettings, key: string): string | undefined {
  const value = settings.config[key];
  if (typeof value === "number") {
    return String(value);
  }
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

export interface TencentCall {
  url: string;
  init: RequestInit;
}

/**
 * The signed request for `action` with `payload` (the body exactly as sent), or why the settings
 * cannot make one (a base_url that is not a URL).
 */
export async function tencentCall(
  settings: ProviderSettings,
  credentials: { secretId: string; secretKey: string },
  action: string,
  payload: string,
  nowMs: number,
): Promise<TencentCall | { invalid: string }> {
  const url = tencentConfig(settings, "base_url") ?? DEFAULT_BASE_URL;
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    return { invalid: `Tencent base_url is not a URL: ${url}` };
  }
  const timestamp = Math.floor(nowMs / 1000);
  const { authorization } = await signTc3Request({
    ...credentials,
    service: "sms",
    timestamp,
    // The host fetch will send, derived from the same URL, so signed and sent cannot differ.
    headers: { "content-type": CONTENT_TYPE, host },
    payload,
  });
  return {
    url,
    init: {
      method: "POST",
      headers: {
        Authorization: authorization,
        "Content-Type": CONTENT_TYPE,
        "X-TC-Action": action,
        "X-TC-Version": VERSION,
        "X-TC-Timestamp": String(timestamp),
        "X-TC-Region": tencentConfig(settings, "region") ?? DEFAULT_REGION,
      },
      body: payload,
    },
  };
}
