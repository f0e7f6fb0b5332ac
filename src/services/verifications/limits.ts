/**
 * PLACEHOLDER (branch i16-api only): helper B's branch i16-limits holds the real file, which
 * replaces this one whole at merge. It admits every send and records nothing, only so that this
 * branch compiles and its tests of the API run; the limits' own tests live on i16-limits.
 */

export type LimitName =
  | "number_minute"
  | "number_hour"
  | "number_day"
  | "platform_number"
  | "prefix_velocity"
  | "country_day"
  | "low_conversion";

export type Admission = { ok: true } | { ok: false; limit: LimitName; retryAfterSeconds: number };

export async function admitVerificationSend(
  _env: Env,
  _send: {
    tenantId: string;
    channel: "sms" | "wechat";
    recipient: string;
    country: string | null;
    now: number;
  },
): Promise<Admission> {
  return { ok: true };
}

export async function recordVerificationApproved(
  _env: Env,
  _approval: { tenantId: string; recipient: string; country: string | null; now: number },
): Promise<void> {}

/** Refusals per day (`YYYY-MM-DD`, UTC) and per limit, from `from` to `to` (ms). */
export async function refusalsByDay(
  _env: Env,
  _tenantId: string,
  _from: number,
  _to: number,
): Promise<Record<string, Partial<Record<LimitName, number>>>> {
  return {};
}
