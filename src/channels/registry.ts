/**
 * Every outbound adapter, by provider: the SMS carriers (channels/sms/registry.ts) and WeChat.
 * Keyed by the provider union, so a provider without an adapter is a compile error. A message's
 * plan names one of these; the consumer calls it the same way whatever the channel.
 */
import type { ProviderName, SendChannel } from "../domain/vocabulary";
import type { OutboundAdapter } from "./adapter";
import type { SmsAdapter } from "./sms/adapter";
import { smsAdapters } from "./sms/registry";
import { wechat } from "./wechat/outbound";

/** Who carries a message: one of the tenant's SMS carriers, or WeChat for the app it names. */
export type OutboundProvider = ProviderName | "wechat";

export type OutboundAdapters = { readonly [name in ProviderName]: SmsAdapter } & {
  readonly wechat: OutboundAdapter;
};

export const outboundAdapters: OutboundAdapters = { ...smsAdapters, wechat };

/**
 * The provider of a channel whose messages do not choose among the tenant's carriers: a WeChat
 * message goes through WeChat, for the app it names. Null: routed among the tenant's SMS carriers
 * by its routing rules (queues/delivery-plan.ts).
 */
export const CHANNEL_PROVIDERS: { readonly [channel in SendChannel]: OutboundProvider | null } = {
  sms: null,
  wechat: "wechat",
};
