/**
 * The messages the inbound stages send on the tenant's behalf (keyword replies, forwarded copies):
 * through the same send service as the API (limits, opt-outs, logs, statistics, the dispatcher's
 * idempotency), with a key made from the inbound message, so handling a message again sends
 * nothing twice. A message the rules refuse is an outcome to record, not an error.
 */

import { smsAdapters } from "../../channels/sms/registry";
import { providerCodesOf, readyProviders, routingRules } from "../../delivery/provider-reads";
import type { Caller } from "../../domain/caller";
import { countryOfE164 } from "../../domain/phone";
import { DEFAULT_PROVIDER_ORDER, providerOrder, ruleFor } from "../../domain/routing";
import type { ProviderName } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";
import { loadTenant } from "../accounts/tenants";
import { acceptMessage, type SendInput } from "../messaging/messages";

export type AutomaticSend = { sent: true; messageId: string } | { sent: false; reason: string };

/** The caller automatic messages are sent as: the tenant itself, live, with no key. */
export async function tenantCaller(env: Env, tenantId: string): Promise<Caller> {
  const tenant = await loadTenant(env, tenantId);
  if (!tenant) {
    throw new Error(`tenant ${tenantId} vanished`);
  }
  return { keyId: "system", mode: "live", scopes: [], tenant };
}

/**
 * Why no provider the number is routed to could send this, or null when one can: Aliyun and
 * Tencent send only templates with a code of theirs (template_provider_codes), so a free text or
 * an uncoded template routed only to them cannot go.
 */
export async function unsendableReason(
  env: Env,
  tenantId: string,
  to: string,
  templateId: string | null,
  now: number = Date.now(),
): Promise<string | null> {
  const [ready, rules, codes] = await Promise.all([
    readyProviders(env, tenantId, now),
    routingRules(env, tenantId, now),
    templateId ? providerCodesOf(env, [templateId], now) : Promise.resolve(new Map()),
  ]);
  const rule = ruleFor(rules, to, countryOfE164(to) ?? "");
  const order: ProviderName[] = rule ? providerOrder(rule, to) : [...DEFAULT_PROVIDER_ORDER];
  const routed = order.filter((provider) => ready.has(provider));
  if (routed.length === 0) {
    return "no provider is set up for this number";
  }
  const templateCodes: Map<string, string> | undefined = templateId
    ? codes.get(templateId)
    : undefined;
  const canSend = routed.some(
    (provider) => smsAdapters[provider].sendsFreeText || templateCodes?.has(provider) === true,
  );
  if (canSend) {
    return null;
  }
  return templateId
    ? `the number is routed to ${routed.join(", ")}, which send only templates with their code, and template ${templateId} has none (PUT /v1/templates/${templateId}/provider-codes)`
    : `the number is routed to ${routed.join(", ")}, which send only approved templates: reply with a template that has their code`;
}

/** Sends an SMS as the tenant, once per `idempotencyKey`; a refusal comes back as its reason. */
export async function sendAutomatic(
  env: Env,
  tenantId: string,
  input: SendInput,
  idempotencyKey: string,
  now: number = Date.now(),
): Promise<AutomaticSend> {
  const caller = await tenantCaller(env, tenantId);
  try {
    const { message } = await acceptMessage(env, caller, input, idempotencyKey, now);
    return { sent: true, messageId: message.id };
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) {
      return { sent: false, reason: error.message };
    }
    throw error;
  }
}
