/**
 * The Settings page: one form per group of the tenant's settings, each posting the change that
 * `PATCH /v1/tenant` would take. A field's error is the API's own, under the field its pointer names.
 */

import { retentionOf } from "../domain/retention";
import { verificationSettingsOf } from "../domain/verification-limits";
import type { TenantRow } from "../services/accounts/tenants";
import { Csrf, Field, NoticeLine } from "./components";
import type { FieldErrors } from "./forms";
import { Layout } from "./layout";
import { type Notice, useUi } from "./ui";

export const SETTINGS_SECTIONS = [
  "rate",
  "quiet",
  "budget",
  "retention",
  "verification",
  "opt_out",
] as const;
export type SettingsSection = (typeof SETTINGS_SECTIONS)[number];

export interface SettingsView {
  tenant: TenantRow;
  usage: { month: string; used: number };
  /** The refused section's posted values and errors, shown again in its form. */
  refused?: { section: SettingsSection; values: Record<string, string>; errors: FieldErrors };
  notice?: Notice;
}

/** The form's current values: the refused draft, else the stored settings, as form strings. */
function valuesOf(tenant: TenantRow): Record<string, string> {
  const { limits, fraudGuard } = verificationSettingsOf(
    tenant.verificationLimits,
    tenant.fraudGuard,
  );
  const retention = retentionOf(tenant.retention);
  return {
    send_rate: String(tenant.sendRate),
    "quiet_hours.start": tenant.quietHours?.start ?? "",
    "quiet_hours.end": tenant.quietHours?.end ?? "",
    "budget.monthly_limit":
      tenant.budgetMicros === null || tenant.budgetMicros === undefined
        ? ""
        : String(tenant.budgetMicros / 1_000_000),
    "retention.bodies_days": String(retention.bodiesDays),
    "retention.messages_days": String(retention.messagesDays),
    "retention.inbound_days": String(retention.inboundDays),
    "verification_limits.per_minute": String(limits.perMinute),
    "verification_limits.per_hour": String(limits.perHour),
    "verification_limits.per_day": String(limits.perDay),
    "verification_limits.prefix_per_hour": String(limits.prefixPerHour),
    "verification_limits.country_per_day": String(limits.countryPerDay),
    "fraud_guard.enabled": fraudGuard.enabled ? "on" : "",
    "fraud_guard.threshold": String(fraudGuard.threshold),
    "fraud_guard.min_volume": String(fraudGuard.minVolume),
    verification_opt_out_exempt: tenant.verificationOptOutExempt ? "on" : "",
    "opt_out_confirmation.zh": tenant.optOutConfirmation?.zh ?? "",
    "opt_out_confirmation.en": tenant.optOutConfirmation?.en ?? "",
  };
}

function Section(props: {
  section: SettingsSection;
  title: string;
  hint?: string;
  children: unknown;
}) {
  const { t } = useUi();
  return (
    <div class="card narrow" id={`settings-${props.section}`}>
      <h2>{props.title}</h2>
      {props.hint ? <p class="muted">{props.hint}</p> : null}
      <form method="post" action={`/dashboard/settings/${props.section}`}>
        <Csrf />
        {props.children}
        <button type="submit">{t("settings.save")}</button>
      </form>
    </div>
  );
}

function Check(props: { name: string; label: string; checked: boolean }) {
  return (
    <div class="field">
      <label>
        <input type="checkbox" name={props.name} value="on" checked={props.checked} /> {props.label}
      </label>
    </div>
  );
}

export function SettingsPage(props: SettingsView) {
  const { t, fmt } = useUi();
  const stored = valuesOf(props.tenant);
  const refused = props.refused;
  // Only the refused form shows its draft and errors; the others show what is stored.
  const of = (section: SettingsSection) => ({
    value: (name: string) =>
      refused?.section === section ? (refused.values[name] ?? "") : (stored[name] ?? ""),
    errors: refused?.section === section ? refused.errors : undefined,
  });
  const num = (section: SettingsSection, name: string, label: string, hint?: string) => (
    <Field
      name={name}
      label={label}
      type="text"
      value={of(section).value(name)}
      errors={of(section).errors}
      hint={hint}
    />
  );
  return (
    <Layout title={t("settings.title")}>
      <NoticeLine notice={props.notice} />
      <div class="settings-grid">
        <Section section="rate" title={t("settings.rate_title")}>
          {num("rate", "send_rate", t("settings.send_rate"), t("settings.send_rate_hint"))}
        </Section>
        <Section section="quiet" title={t("settings.quiet_title")} hint={t("settings.quiet_hint")}>
          {num("quiet", "quiet_hours.start", t("settings.quiet_start"))}
          {num("quiet", "quiet_hours.end", t("settings.quiet_end"))}
        </Section>
        <Section
          section="budget"
          title={t("settings.budget_title")}
          hint={t("settings.budget_hint")}
        >
          {num(
            "budget",
            "budget.monthly_limit",
            t("settings.budget_limit", { currency: props.tenant.currency }),
          )}
          <p class="muted">
            {t("settings.budget_used", {
              month: props.usage.month,
              used: fmt.money(props.usage.used),
            })}
          </p>
        </Section>
        <Section
          section="retention"
          title={t("settings.retention_title")}
          hint={t("settings.retention_hint")}
        >
          {num("retention", "retention.bodies_days", t("settings.bodies_days"))}
          {num("retention", "retention.messages_days", t("settings.messages_days"))}
          {num("retention", "retention.inbound_days", t("settings.inbound_days"))}
        </Section>
        <Section section="verification" title={t("settings.verification_title")}>
          {num("verification", "verification_limits.per_minute", t("settings.per_minute"))}
          {num("verification", "verification_limits.per_hour", t("settings.per_hour"))}
          {num("verification", "verification_limits.per_day", t("settings.per_day"))}
          {num(
            "verification",
            "verification_limits.prefix_per_hour",
            t("settings.prefix_per_hour"),
          )}
          {num(
            "verification",
            "verification_limits.country_per_day",
            t("settings.country_per_day"),
          )}
          <Check
            name="fraud_guard.enabled"
            label={t("settings.fraud_enabled")}
            checked={of("verification").value("fraud_guard.enabled") === "on"}
          />
          {num("verification", "fraud_guard.threshold", t("settings.fraud_threshold"))}
          {num("verification", "fraud_guard.min_volume", t("settings.fraud_min_volume"))}
          <Check
            name="verification_opt_out_exempt"
            label={t("settings.opt_out_exempt")}
            checked={of("verification").value("verification_opt_out_exempt") === "on"}
          />
        </Section>
        <Section
          section="opt_out"
          title={t("settings.opt_out_title")}
          hint={t("settings.opt_out_hint")}
        >
          <Field
            name="opt_out_confirmation.zh"
            label={t("settings.opt_out_zh")}
            multiline
            maxlength={500}
            value={of("opt_out").value("opt_out_confirmation.zh")}
            errors={of("opt_out").errors}
          />
          <Field
            name="opt_out_confirmation.en"
            label={t("settings.opt_out_en")}
            multiline
            maxlength={500}
            value={of("opt_out").value("opt_out_confirmation.en")}
            errors={of("opt_out").errors}
          />
        </Section>
      </div>
    </Layout>
  );
}
