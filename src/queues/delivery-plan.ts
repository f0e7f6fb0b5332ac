/**
 * Which provider each claimed message goes to on this attempt, with what it needs. A channel with
 * a provider of its own (WeChat, channels/registry.ts) goes to it. SMS is routed: the tenant's
 * routing rule (or its providers in a default order), narrowed to providers set up, enabled and
 * able to send the message (Aliyun and Tencent only an approved template of theirs), then the
 * failover rule (domain/routing `nextProvider`) with the last attempt and each provider's circuit.
 * Test-mode SMS only ever goes to the sandbox.
 */
import type { ProviderSettings, UnansweredAttempt } from "../channels/adapter";
import {
  CHANNEL_PROVIDERS,
  type OutboundAdapters,
  type OutboundProvider,
} from "../channels/registry";
import type { Database } from "../db/client";
import type { MessageRow } from "../db/message-log";
import { providerCodesOf, readyProviders, routingRules } from "../delivery/provider-reads";
import { type BreakerTicket, CircuitBreaker } from "../domain/circuit-breaker";
import { countryOfE164 } from "../domain/phone";
import {
  DEFAULT_PROVIDER_ORDER,
  type LastAttempt,
  lastAttemptOf,
  nextProvider,
  providerOrder,
  ruleFor,
} from "../domain/routing";
import { leadingSignature } from "../domain/sender-signature";
import type { ProviderName } from "../domain/vocabulary";

export type Plan =
  | {
      provider: OutboundProvider;
      /** Where the provider posts the message's receipt (the carrier's hook, with its token). */
      statusCallbackUrl: string;
      settings: ProviderSettings;
      template: { code: string; params: { name: string; value: string }[] } | null;
      signName: string | null;
      /** The candidates in order, to decide where a retryable failure goes next. */
      candidates: readonly OutboundProvider[];
      /**
       * The chosen provider's circuit let this call through: record its result against it. Null
       * for a provider without one (WeChat, whose token authority answers for the account).
       */
      ticket: BreakerTicket | null;
      /** An earlier attempt got no answer from this provider: it is the only one left to try. */
      pinned: boolean;
      /**
       * When pinned: the earlier attempt with no answer (the latest such, dated from the first),
       * which the provider is asked about before sending again (queues/reconcile.ts).
       */
      unanswered: UnansweredAttempt | null;
    }
  | { provider: null; reason: string; permanent: boolean };

/** A provider of its own needs no settings of the tenant's carriers: WeChat's are its app's. */
const NO_SETTINGS: ProviderSettings = { config: {}, secrets: {} };

const breakers = new Map<string, CircuitBreaker>();

export function breakerFor(tenantId: string, provider: OutboundProvider): CircuitBreaker {
  const key = `${tenantId}:${provider}`;
  let breaker = breakers.get(key);
  if (!breaker) {
    breaker = new CircuitBreaker();
    breakers.set(key, breaker);
  }
  return breaker;
}

interface Earlier {
  last: LastAttempt<ProviderName>;
  unanswered: UnansweredAttempt | null;
}

async function lastAttempts(db: Database, messages: MessageRow[]): Promise<Map<string, Earlier>> {
  const retried = messages.filter((m) => m.attemptCount > 1);
  const last = new Map<string, Earlier>();
  if (retried.length === 0) {
    return last;
  }
  const rows = await db.query.messageAttempts.findMany({
    columns: {
      messageId: true,
      attempt: true,
      provider: true,
      outcome: true,
      latencyMs: true,
      createdAt: true,
    },
    where: (a, { inArray }) =>
      inArray(
        a.messageId,
        retried.map((m) => m.id),
      ),
  });
  for (const message of retried) {
    const earlier = rows.flatMap((row) =>
      row.messageId === message.id && row.attempt < message.attemptCount
        ? [{ ...row, provider: row.provider as ProviderName }]
        : [],
    );
    const lastOne = lastAttemptOf(earlier);
    // The unknown ones with the provider that is pinned; an attempt's row is dated when its
    // answer (or its lack) was recorded, so its request left `latency_ms` before.
    const unknown = earlier.filter(
      (a) => a.outcome === "unknown" && a.provider === lastOne?.provider,
    );
    const unanswered =
      lastOne?.outcome === "unknown" && unknown.length > 0
        ? {
            attempt: Math.max(...unknown.map((a) => a.attempt)),
            startedAt: Math.min(...unknown.map((a) => a.createdAt - a.latencyMs)),
          }
        : null;
    last.set(message.id, { last: lastOne, unanswered });
  }
  return last;
}

export async function planDeliveries(
  env: Env,
  db: Database,
  messages: MessageRow[],
  adapters: OutboundAdapters,
  publicBaseUrl: string,
  now: number,
): Promise<Map<string, Plan>> {
  const plans = new Map<string, Plan>();
  const claimed: MessageRow[] = [];
  for (const message of messages) {
    const own = CHANNEL_PROVIDERS[message.channel];
    if (own === null) {
      claimed.push(message);
    } else {
      plans.set(message.id, {
        provider: own,
        // WeChat posts a template's result to the app's webhook, set in its console.
        statusCallbackUrl: `${publicBaseUrl}/wechat/${message.sender ?? ""}`,
        settings: NO_SETTINGS,
        template: null,
        signName: null,
        candidates: [own],
        ticket: null,
        pinned: false,
        unanswered: null,
      });
    }
  }
  if (claimed.length === 0) {
    return plans;
  }
  const tenants = [...new Set(claimed.map((m) => m.tenantId))];
  const [providers, rules, last, codes] = await Promise.all([
    Promise.all(tenants.map((id) => readyProviders(env, id, now))).then(
      (list) => new Map(tenants.map((id, i) => [id, list[i] ?? new Map()])),
    ),
    Promise.all(tenants.map((id) => routingRules(env, id, now))).then(
      (list) => new Map(tenants.map((id, i) => [id, list[i] ?? []])),
    ),
    lastAttempts(db, claimed),
    providerCodesOf(
      env,
      claimed.flatMap((m) => (m.templateId ? [m.templateId] : [])),
      now,
    ),
  ]);

  for (const message of claimed) {
    const ready = providers.get(message.tenantId) ?? new Map();
    const templateCodes = message.templateId ? codes.get(message.templateId) : undefined;
    const canSend = (provider: ProviderName) =>
      ready.has(provider) &&
      (adapters[provider].sendsFreeText || templateCodes?.has(provider) === true);

    let order: ProviderName[];
    if (message.mode === "test") {
      order = ["sandbox"];
    } else {
      const tenantRules = rules.get(message.tenantId) ?? [];
      // Rows logged before the send log kept the country have it read from the number.
      const country =
        tenantRules.length > 0 ? (message.country ?? countryOfE164(message.recipient) ?? "") : "";
      const rule = ruleFor(tenantRules, message.recipient, country);
      order = rule ? providerOrder(rule, message.id) : [...DEFAULT_PROVIDER_ORDER];
    }
    const candidates = order.filter(canSend);
    if (candidates.length === 0) {
      plans.set(message.id, {
        provider: null,
        permanent: true,
        reason:
          message.mode === "test"
            ? "test-mode messages go only to the sandbox, which is not set up for this account"
            : message.templateId
              ? "no provider set up for this destination can send this template (Aliyun and Tencent need its code: PUT /v1/templates/{id}/provider-codes)"
              : "no provider set up for this destination sends free text (Aliyun and Tencent send only approved templates)",
      });
      continue;
    }
    const tickets = new Map<ProviderName, BreakerTicket>();
    const earlier = last.get(message.id);
    const choice = nextProvider(candidates, earlier?.last ?? null, (provider) => {
      const ticket = breakerFor(message.tenantId, provider).allow(now);
      if (ticket) {
        tickets.set(provider, ticket);
      }
      return ticket !== null;
    });
    if (choice.provider === null) {
      plans.set(message.id, { provider: null, permanent: choice.permanent, reason: choice.reason });
      continue;
    }
    const chosen = ready.get(choice.provider);
    const ticket = tickets.get(choice.provider);
    if (!chosen || !ticket) {
      continue; // candidates only holds ready providers
    }
    const code = templateCodes?.get(choice.provider);
    plans.set(message.id, {
      provider: choice.provider,
      statusCallbackUrl: `${publicBaseUrl}/hooks/sms/${choice.provider}/${chosen.hookToken}/status`,
      settings: chosen.settings,
      template: code ? { code, params: message.templateParams ?? [] } : null,
      // Null for a text without a signature and for rows logged before the column; reading the
      // text again gives the answer for either.
      signName: message.signName ?? leadingSignature(message.body)?.name ?? null,
      candidates,
      ticket,
      pinned: earlier?.last?.outcome === "unknown",
      unanswered: earlier?.last?.outcome === "unknown" ? earlier.unanswered : null,
    });
  }
  return plans;
}
