/**
 * One Aliyun SMS API call (RPC style, `dysmsapi`): where it goes and how it is signed
 * (aliyun-signature.ts). SendSms and SendBatchSms (aliyun.ts) and QuerySendDetails
 * (aliyun-lookup.ts) differ only in their parameters.
 */
import type { ProviderSettings } from "./adapter";
import { signedRpcQuery } from "./aliyun-signature";

const DEFAULT_BASE_URL = "https://dysmsapi.aliyuncs.com";
export const ALIYUN_DEFAULT_REGION = "cn-hangzhou";

/** A config value, when it is a non-empty string. */
export function aliyunConfig(settings: ProviderSettings, key: string): string | undefined {
  const value = settings.config[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The signed POST of `params` (every parameter but the signature) to the account's endpoint. */
export async function aliyunCall(
  settings: ProviderSettings,
  params: Record<string, string>,
  accessKeySecret: string,
): Promise<{ url: string; init: RequestInit }> {
  const baseUrl = (aliyunConfig(settings, "base_url") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  return {
    url: `${baseUrl}/`,
    init: {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: await signedRpcQuery("POST", params, accessKeySecret),
    },
  };
}
