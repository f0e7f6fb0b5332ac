import type { ProviderName } from "../../domain/vocabulary";
import type { SmsAdapter } from "./adapter";
import { aliyun } from "./aliyun";
import { sandbox } from "./sandbox";
import { tencent } from "./tencent";
import { twilio } from "./twilio";

/** Keyed by the provider union: a provider without an adapter is a compile error. */
export const smsAdapters: { readonly [name in ProviderName]: SmsAdapter } = {
  sandbox,
  twilio,
  aliyun,
  tencent,
};
