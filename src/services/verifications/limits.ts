/**
 * The limits on verification sends (issue 16), checked before any provider is called: per
 * recipient per tenant (`number_minute`, `number_hour`, `number_day`; for WeChat the openid), per
 * number range per tenant (`prefix_velocity`), per country per tenant (`country_day`), the
 * low-conversion guard (`low_conversion`), and the platform-wide cap per phone number across
 * tenants (`platform_number`). A code by `auto` counts for the phone rules against the contact's
 * number (it may go there by SMS); by `wechat`, only the per-recipient windows apply.
 *
 * The tenant's VerificationLimiter decides all but the last in one step and counts the send; the
 * number's platform shard decides its cap at the same time (neither waits for the other, which
 * keeps a start close to a plain send); whichever admitted a send the other refused takes its
 * count back, so a refused send counts nowhere but in the tenant's refusals.
 */
import {
  platformNumberLimiterOf,
  verificationLimiterOf,
} from "../../delivery/verification-limiters";
import type { CodeToRecord, VerificationRow } from "../../delivery/verification-records";
import {
  isE164,
  type LimitName,
  numberRangeOf,
  retryAfterSeconds,
  utcDayOf,
  type VerificationSettings,
} from "../../domain/verification-limits";

export type { LimitName } from "../../domain/verification-limits";

/** The platform shard's count of an admitted send to `number` (to take back with the tenant's). */
export interface PlatformReservation {
  number: string;
  reservation: number;
}

export type Admission =
  | {
      ok: true;
      reservation: string;
      platform?: PlatformReservation;
      verification?: VerificationRow;
    }
  | { ok: false; limit: LimitName; retryAfterSeconds: number }
  /** The pending verification keeps codes of this length: draw the code again. */
  | { ok: false; limit: null; recode: number };

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
    /** A test key's codes go only to the sandbox: its own limiter, and no platform count. */
    mode: "live" | "test";
    channel: "sms" | "wechat";
    recipient: string;
    /**
     * The number the phone rules count the send against (SMS: the recipient; `auto`: the
     * contact's number, if any). Left out: the recipient, for SMS.
     */
    phone?: string | null;
    country: string | null;
    now: number;
    /** The code to record on the verification it goes on (see VerificationLimiter's `admit`). */
    verification?: CodeToRecord;
  },
): Promise<Admission> {
  const number =
    send.phone !== undefined ? send.phone : send.channel === "sms" ? send.recipient : null;
  const phone = number === null ? null : phonePartsOf(number, send.country);
  const tenantLimiter = verificationLimiterOf(env, send.tenantId, send.mode);
  const platformLimiter =
    phone && number !== null && send.mode === "live" ? platformNumberLimiterOf(env, number) : null;
  const [tenant, platform] = await Promise.allSettled([
    tenantLimiter.admit({
      tenantId: send.tenantId,
      recipient: send.recipient,
      phone,
      now: send.now,
      ...(send.verification ? { verification: send.verification } : {}),
    }),
    number === null ? null : (platformLimiter?.admit({ number, now: send.now }) ?? null),
  ]);
  const failed = [tenant, platform].find(
    (result): result is PromiseRejectedResult => result.status === "rejected",
  );
  if (tenant.status === "rejected" || platform.status === "rejected") {
    // Nothing is sent when either throws; neither count may keep a send that never went.
    await Promise.allSettled([
      tenant.status === "fulfilled" && tenant.value.ok
        ? tenantLimiter.cancel(tenant.value.reservation)
        : null,
      platform.status === "fulfilled" && platform.value?.ok
        ? platformLimiter?.cancel(platform.value.reservation)
        : null,
    ]);
    throw failed?.reason;
  }
  const verdict = tenant.value;
  if (!verdict.ok) {
    if (platform.value?.ok) {
      await platformLimiter?.cancel(platform.value.reservation);
    }
    if (verdict.limit === null) {
      return { ok: false, limit: null, recode: verdict.recode };
    }
    return {
      ok: false,
      limit: verdict.limit,
      retryAfterSeconds: retryAfterSeconds(verdict.waitMs),
    };
  }
  if (platform.value && !platform.value.ok) {
    await tenantLimiter.release({
      reservation: verdict.reservation,
      limit: "platform_number",
      now: send.now,
    });
    return {
      ok: false,
      limit: "platform_number",
      retryAfterSeconds: retryAfterSeconds(platform.value.waitMs),
    };
  }
  return {
    ok: true,
    reservation: verdict.reservation,
    ...(platform.value?.ok && number !== null
      ? { platform: { number, reservation: platform.value.reservation } }
      : {}),
    ...(verdict.verification ? { verification: verdict.verification } : {}),
  };
}

/**
 * Cancels an admitted send whose message never went (refused after the admission): the counts
 * are taken back, in the tenant's limiter and the number's platform shard, and the code it
 * recorded is undone (a new verification dropped, a re-sent one's previous code restored).
 */
export async function cancelVerificationSend(
  env: Env,
  tenantId: string,
  mode: "live" | "test",
  admitted: { reservation: string; platform?: PlatformReservation },
): Promise<void> {
  await Promise.all([
    verificationLimiterOf(env, tenantId, mode).cancel(admitted.reservation),
    admitted.platform
      ? platformNumberLimiterOf(env, admitted.platform.number).cancel(admitted.platform.reservation)
      : null,
  ]);
}

/** Refusals per day (`YYYY-MM-DD`, UTC) and per limit, from `from` to `to` (ms, both included). */
export async function refusalsByDay(
  env: Env,
  tenantId: string,
  modes: readonly ("live" | "test")[],
  from: number,
  to: number,
): Promise<Record<string, Partial<Record<LimitName, number>>>> {
  const rows = (
    await Promise.all(
      modes.map((mode) =>
        verificationLimiterOf(env, tenantId, mode).refusals(utcDayOf(from), utcDayOf(to)),
      ),
    )
  ).flat();
  const byDay: Record<string, Partial<Record<LimitName, number>>> = {};
  for (const row of rows) {
    const day = byDay[row.day] ?? {};
    day[row.limit] = (day[row.limit] ?? 0) + row.count;
    byDay[row.day] = day;
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
  await Promise.all(
    (["live", "test"] as const).map((mode) =>
      verificationLimiterOf(env, tenantId, mode).configure({
        version: settingsVersion,
        ...settings,
      }),
    ),
  );
}
