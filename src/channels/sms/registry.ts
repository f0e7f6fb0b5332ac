import type { ProviderName } from "../../db/schema";
import type { SmsAdapter } from "./adapter";
import { sandbox } from "./sandbox";

/** Keyed by the provider union: a provider without an adapter is a compile error. */
export const smsAdapters: { readonly [name in ProviderName]: SmsAdapter } = {
  sandbox,
};
