/**
 * The limits on verification sends (issue 16), checked before any provider is called: per
 * recipient per tenant (`number_minute`, `number_hour`, `number_day`; for WeChat the openid), per
 * number range per tenant (`prefix_velocity`), per country per tenant (`country_day`), the
 * low-conversion guard (`low_conversion`), and the platform-wide cap per phone number across
 * tenants (`platform_number`).
 *
 * The tenant's VerificationLimiter decides all but the last in one step and counts the send; then
 * the number's platform shard decides its cap, and a refusal there takes the tenant's count back.
 * The tenant's object goes first because most refusals are the tenant's own, and stop there.
 */
import {
  platformNumberLimiterOf,
  verificationLimiterOf,
} from "../../delivery/verification-limiters";
import {
  isE164,
  type LimitName,
  numberRangeOf,
  retryAfterSeconds,
  utcDayOf,
  type VerificationSettings,
} from "../../domain/verification-limits";

export type { LimitName } from "../../domain/verification-limits";

export type Admission = { ok: true } | { ok: false; limit: LimitName; retryAfterSeconds: number };

function phonePartsOf(recipient: string, country: string | null) {
  return isE164(recipient) ? { range: numberRangeOf(recipient), country } : null;
}

/**
 * Admits one verification send (a first send or a re-send) and counts it, or names the rule that
 * refuses it and the whole seconds until it would not. `recipient` is an E.164 number for SMS,
 * an openid for WeChat (only the per-recipient windows apply to it); `now` in ms.
 */
export async function admitVerificationSend(
  env: Env,
  send: {
    tenantId: string;
    channel: "sms" | "wechat";
    recipient: string;
    country: string | null;
    now: number;
  },
): Promise<Admission> {
  const phone = send.channel === "sms" ? phonePartsOf(send.recipient, send.country) : null;
  const tenantLimiter = verificationLimiterOf(env, send.tenantId);
  const verdict = await tenantLimiter.admit({
    tenantId: send.tenantId,
    recipient: send.recipient,
    phone,
    now: send.now,
  });
  if (!verdict.ok) {
    return {
      ok: false,
      limit: verdict.limit,
      retryAfterSeconds: retryAfterSeconds(verdict.waitMs),
    };
  }
  if (!phone) {
    return { ok: true };
  }
  let platform: { ok: true } | { ok: false; waitMs: number };
  try {
    platform = await platformNumberLimiterOf(env, send.recipient).admit({
      number: send.recipient,
      now: send.now,
    });
  } catch (error) {
    // Nothing is sent when this throws; the tenant's count must not keep a send that never went.
    await tenantLimiter.cancel(verdict.reservation);
    throw error;
  }
  if (!platform.ok) {
    await tenantLimiter.release({
      reservation: verdict.reservation,
      limit: "platform_number",
      now: send.now,
    });
    return {
      ok: false,
      limit: "platform_number",
      retryAfterSeconds: retryAfterSeconds(platform.waitMs),
    };
  }
  return { ok: true };
}

/** Counts an approved verification toward its number range's and country's conversion. */
export async function recordVerificationApproved(
  env: Env,
  approval: { tenantId: string; recipient: string; country: string | null; now: number },
): Promise<void> {
  const phone = phonePartsOf(approval.recipient, approval.country);
  if (!phone) {
    return;
  }
  await verificationLimiterOf(env, approval.tenantId).approved({ phone, now: approval.now });
}

/** Refusals per day (`YYYY-MM-DD`, UTC) and per limit, from `from` to `to` (ms, both included). */
export async function refusalsByDay(
  env: Env,
  tenantId: string,
  from: number,
  to: number,
): Promise<Record<string, Partial<Record<LimitName, number>>>> {
  const rows = await verificationLimiterOf(env, tenantId).refusals(utcDayOf(from), utcDayOf(to));
  const byDay: Record<string, Partial<Record<LimitName, number>>> = {};
  for (const row of rows) {
    byDay[row.day] = { ...byDay[row.day], [row.limit]: row.count };
  }
  return byDay;
}

/**
 * Hands the tenant's limiter its new settings (services/accounts/tenants.ts, after a change of
 * `verification_limits` or `fraud_guard` is committed), tagged with the settings version so that
 * of two crossing changes the newer stays.
 */
export async function configureVerificationLimits(
  env: Env,
  tenantId: string,
  settingsVersion: number,
  settings: VerificationSettings,
): Promise<void> {
  await verificationLimiterOf(env, tenantId).configure({ version: settingsVersion, ...settings });
}
