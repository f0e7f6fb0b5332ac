/**
 * The one outbound interface of every channel: each SMS provider (channels/sms/) and WeChat
 * (channels/wechat/outbound.ts) sends a message through `send`, and the dispatch consumer calls
 * whichever the message's plan names, through the registry (channels/registry.ts), the same way.
 * Adapters are plain objects over what the caller passes in (`fetch`, the clock, and for WeChat
 * the app's token authority and the follower's window), so tests assert the exact outgoing
 * request and the sandboxes can call our own hooks. Each call goes through `fetchNoRedirect`
 * (lib/outbound-fetch).
 */
import type { AccessTokenSource } from "./wechat/api-client";

export interface OutboundRequest {
  /** Our message id: the client reference a provider echoes back where it can. */
  messageId: string;
  tenantId: string;
  /** E.164 for SMS; the follower's openid for WeChat. */
  to: string;
  /** The sender an SMS names (null: the provider's own); the app id for WeChat. */
  from: string | null;
  /** The whole text, signature included (what a free-text provider sends). */
  body: string;
  /** 1 for the first provider call of this message, 2 for the next, ... */
  attempt: number;
  /**
   * Where the provider posts delivery receipts: our hook URL, with its token, for a carrier that
   * takes it per request; the app's webhook for WeChat, which has it from its console.
   */
  statusCallbackUrl: string;
  /**
   * The provider's own approved template and its parameters, for providers that send only those
   * (Aliyun, Tencent); null for a free text. `params` are in the template's declared order.
   */
  template: { code: string; params: { name: string; value: string }[] } | null;
  /** The signature name without brackets (`Relaybox`), for providers that add it themselves. */
  signName: string | null;
  /** The channel's own request, composed when the message was accepted (WeChat's JSON); null for SMS. */
  payload: Readonly<Record<string, unknown>> | null;
}

/** A tenant's settings for one provider, credentials decrypted. */
export interface ProviderSettings {
  /** Non-secret: `base_url`, `timeout_ms`, sender ids, app ids, region… (snake_case keys). */
  config: Readonly<Record<string, string | number | boolean>>;
  /** Credentials (`auth_token`, `access_key_secret`, `secret_key`…); never logged or returned. */
  secrets: Readonly<Record<string, string>>;
}

export type SendOutcome =
  | { kind: "sent"; providerMessageId: string }
  | {
      kind: "failed";
      retryable: boolean;
      code: string;
      reason: string;
      /**
       * The account's quota at the provider is used up until it renews (WeChat's daily API
       * quota): the same call may pass later, but not soon, so a message that can go another way
       * (its SMS fallback) goes that way now.
       */
      quotaExhausted?: boolean;
    }
  /** The request left and no answer came back: it may or may not have been sent. */
  | { kind: "unknown"; reason: string };

/**
 * What a provider says of an earlier attempt of a message whose answer never came (`lookup`):
 * it has the message (under its id), it has none, or its records cannot say either way.
 */
export type LookupOutcome =
  | { kind: "found"; providerMessageId: string }
  | { kind: "absent" }
  | { kind: "cannot_tell"; reason: string };

/** The attempt being asked about: its number, and when its request may have left (unix ms). */
export interface UnansweredAttempt {
  attempt: number;
  startedAt: number;
}

/** The follower a WeChat customer-service message goes to, in its app. */
export interface ServiceWindowKey {
  tenantId: string;
  /** The app id. */
  sender: string;
  /** The openid. */
  recipient: string;
}

export interface AdapterIO {
  fetch: (request: Request) => Promise<Response>;
  now: () => number;
  /** Keeps work going after the caller returns (`ExecutionContext.waitUntil`). */
  waitUntil: (work: Promise<unknown>) => void;
  /** WeChat: the app's token authority (its WeChatAccount object), the only one to fetch tokens. */
  accessToken?: AccessTokenSource;
  /**
   * WeChat: whether the follower's customer-service window is open at `at`, as the follower's
   * row says (the webhook opens windows as followers write, click or scan).
   */
  serviceWindowOpen?: (follower: ServiceWindowKey, at: number) => Promise<boolean>;
}

export interface OutboundAdapter {
  send(request: OutboundRequest, settings: ProviderSettings, io: AdapterIO): Promise<SendOutcome>;
  /**
   * Optional: several messages with one template in one call (Aliyun's SendBatchSms), at most
   * `maxPerCall`; the outcomes in the requests' order. The consumer gathers such messages.
   */
  sendMany?(
    requests: OutboundRequest[],
    settings: ProviderSettings,
    io: AdapterIO,
  ): Promise<SendOutcome[]>;
  readonly maxPerCall?: number;
  /**
   * Optional: asks the provider whether it already has the message an earlier attempt may have
   * sent (that attempt's outcome is unknown), so the consumer sends it again only when the
   * provider says it has none. By the client reference the send gave the provider where it has
   * one (queues/reconcile.ts). Never sends anything.
   */
  lookup?(
    request: OutboundRequest,
    attempt: UnansweredAttempt,
    settings: ProviderSettings,
    io: AdapterIO,
  ): Promise<LookupOutcome>;
}
