/**
 * The tenant settings' shapes: what `GET /v1/tenant` shows and what `PATCH /v1/tenant` (and the
 * dashboard's Settings page) accepts, so both check a change with the same rules and pointers.
 */
import { z } from "@hono/zod-openapi";
import { isPhoneCountry } from "../../domain/countries";
import { type DeskSettings, isSpanEnd, isTimeZone, spanProblem, WEEKDAYS } from "../../domain/desk";
import { isPrice } from "../../domain/pricing";
import { isClockTime } from "../../domain/quiet-hours";
import { MAX_RETENTION_DAYS } from "../../domain/retention";
import type { TenantChanges } from "./tenants";

export const Country = z
  .string()
  .refine(isPhoneCountry, "must be an ISO 3166 alpha-2 country code, e.g. CN")
  .openapi({ example: "CN" });

const ClockTime = z.string().refine(isClockTime, "must be a 24-hour time HH:MM, e.g. 21:00");

const QuietHoursSchema = z
  .object({ start: ClockTime, end: ClockTime })
  .strict()
  .openapi("QuietHours", {
    description:
      "Marketing is held between start and end in the recipient's local time, e.g. 21:00–08:00",
  });

const ConfirmationText = z.string().trim().min(1).max(500);

const OptOutConfirmationSchema = z
  .object({ zh: ConfirmationText.optional(), en: ConfirmationText.optional() })
  .strict()
  .refine((c) => c.zh !== undefined || c.en !== undefined, "give `zh`, `en` or both")
  .openapi("OptOutConfirmation", {
    description:
      "The reply sent once to a number that opts out by keyword: `zh` to Chinese numbers, `en` to the others (each falls back to the other when missing). It goes through the normal send path (limits, logs, your signature for Chinese numbers).",
  });

const Cap = z.number().int().min(1);

const VerificationLimitsSchema = z
  .object({
    per_minute: Cap.max(100),
    per_hour: Cap.max(1_000),
    per_day: Cap.max(10_000),
    prefix_per_hour: Cap.max(100_000),
    country_per_day: Cap.max(10_000_000),
  })
  .openapi("VerificationLimits", {
    description:
      "Verification codes allowed per recipient (a number, or an openid for WeChat) in any minute, hour and day; per number range (the number less its last 4 digits) in any hour; and per country in any 24 h. A send past one is a 429 naming it.",
  });

const FraudGuardSchema = z
  .object({
    enabled: z.boolean(),
    threshold: z.number().min(0).max(1).openapi({
      description: "Conversion (approved ÷ sent over the last hour) below which sends are refused",
    }),
    min_volume: Cap.max(100_000).openapi({
      description: "Codes sent in the hour before a range's or country's conversion is judged",
    }),
  })
  .openapi("FraudGuard", {
    description:
      "Refuses verification sends (429 `low_conversion`) to a number range or country whose codes are not being entered, as SMS pumping looks; it lets them go again as the hour's figures recover.",
  });

/** An amount of the tenant's currency, as the API's `cost`: a number with at most 6 decimals. */
export const Amount = z
  .number()
  .positive()
  .max(1_000_000_000)
  .refine((n) => Math.abs(n * 1e6 - Math.round(n * 1e6)) < 1e-3, "at most 6 decimals");

const BudgetSchema = z
  .object({
    monthly_limit: z.number().openapi({ description: "In `currency`, like a message's `cost`" }),
    thresholds: z.array(z.number().int()).openapi({
      description: "Percentages at which a `budget.threshold` event is sent, once each a month",
      example: [80, 100],
    }),
  })
  .openapi("Budget", {
    description:
      "A monthly spending limit (the month in your home country's time zone): each live message counts with its cost as estimated when accepted (test mode never counts; a cancel before sending gives it back); a send or batch past it is a 422 `budget-exceeded`",
  });

const BudgetUsageSchema = z
  .object({
    month: z.string().openapi({ example: "2026-12" }),
    used: z.number().openapi({ description: "Live messages' cost accepted this month" }),
    remaining: z.number().nullable().openapi({
      description:
        "What may still be spent: the smaller of the budget left and the balance; null with neither",
    }),
    balance: z.number().nullable().openapi({
      description: "The prepaid balance (topped up by the platform admin); null when none",
    }),
    currency: z.string(),
  })
  .openapi("BudgetUsage");

const Days = z.number().int().min(1).max(MAX_RETENTION_DAYS);

const RetentionSchema = z
  .object({
    bodies_days: Days.openapi({
      description:
        "Days a message's text (and template variables, WeChat content) is kept; then it reads `[redacted]`. At most messages_days",
    }),
    messages_days: Days.openapi({
      description: "Days a message (with its attempts) is kept in the send log; then it is deleted",
    }),
    inbound_days: Days.openapi({ description: "Days an inbound message is kept" }),
  })
  .openapi("Retention", {
    description:
      "How long the send log and inbound messages are kept, counted from when a message was accepted (received). Enforced in bounded batches by a daily run and by each tenant's dispatcher; a message still on its way keeps its body until it ends. Statistics and the audit log are kept.",
  });

const WorkingSpanSchema = z
  .object({
    start: ClockTime,
    end: z.string().refine(isSpanEnd, "must be a 24-hour time HH:MM, or 24:00"),
  })
  .strict()
  .superRefine((span, ctx) => {
    const problem = spanProblem(span);
    if (problem) {
      ctx.addIssue({ code: "custom", message: problem, path: ["end"] });
    }
  });

const WorkingHoursSchema = z
  .object(Object.fromEntries(WEEKDAYS.map((d) => [d, z.array(WorkingSpanSchema).max(4)])))
  .openapi("WorkingHours", {
    description:
      "Per weekday (mon…sun), the spans the desk is open in `time_zone`; an empty list: closed that day",
    example: {
      mon: [{ start: "09:00", end: "18:00" }],
      tue: [{ start: "09:00", end: "18:00" }],
      wed: [{ start: "09:00", end: "18:00" }],
      thu: [{ start: "09:00", end: "18:00" }],
      fri: [{ start: "09:00", end: "18:00" }],
      sat: [],
      sun: [],
    },
  });

const AnswerText = z.string().trim().min(1).max(500);

const DeskSchema = z
  .object({
    enabled: z.boolean().openapi({ description: "Off by default: no desk, no cost" }),
    time_zone: z.string().refine(isTimeZone, "must be an IANA time zone, e.g. Asia/Shanghai"),
    working_hours: WorkingHoursSchema,
    handoff_keywords: z.array(z.string().trim().min(1).max(50)).max(50).openapi({
      description: "A message that is exactly one of these (case aside) asks for a person",
    }),
    handoff_menu_keys: z.array(z.string().min(1).max(128)).max(50).openapi({
      description: "WeChat menu click keys (EventKey) that ask for a person",
    }),
    after_hours_answer: AnswerText,
    no_agent_answer: AnswerText,
    max_queue_seconds: z.number().int().min(10).max(86_400).openapi({
      description:
        "A queued conversation waits this long for an agent, then becomes a left message",
    }),
    left_message_due_hours: z.number().int().min(1).max(720),
    satisfaction_survey: z.boolean().openapi({
      description:
        "After a resolution the customer is asked `satisfaction_question` once, and a digit 1–5 is recorded as their satisfaction",
    }),
    satisfaction_question: AnswerText.nullable().openapi({
      description: "The question; null: a default in the tenant's language",
    }),
    inspection_sample_percent: z.number().int().min(0).max(100).openapi({
      description:
        "Of each agent's conversations resolved on a day, the share sampled for inspection (at least one)",
    }),
  })
  .openapi("Desk", { description: "The service desk (robot first, then agents)" });

const Price = z
  .string()
  .refine(isPrice, "must be a decimal price with at most 6 decimals, e.g. 0.0450");

export const TenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    home_country: z.string(),
    allowed_countries: z.array(z.string()),
    send_rate: z.number().int().openapi({ description: "Messages per second; 0 pauses sending" }),
    signature: z.string().nullable(),
    currency: z.string(),
    prices: z.record(z.string(), z.string()).openapi({
      description:
        "Your price per segment by country (decimal strings in `currency`); other countries use the list prices",
    }),
    quiet_hours: QuietHoursSchema.nullable(),
    verification_opt_out_exempt: z.boolean().openapi({
      description: "Verification codes still go to numbers that opted out",
    }),
    opt_out_confirmation: OptOutConfirmationSchema.nullable(),
    verification_limits: VerificationLimitsSchema,
    fraud_guard: FraudGuardSchema,
    budget: BudgetSchema.nullable(),
    retention: RetentionSchema,
    desk: DeskSchema,
    created_at: z.string(),
  })
  .openapi("Tenant");

/** The tenant as its own admin sees it: with this month's spending. */
export const OwnTenantSchema = TenantSchema.extend({ budget_usage: BudgetUsageSchema }).openapi(
  "OwnTenant",
);

/** A change of the tenant's settings, as `PATCH /v1/tenant` takes it. */
export const TenantUpdateSchema = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    home_country: Country.optional(),
    allowed_countries: z.array(Country).min(1).max(250).optional(),
    send_rate: z.number().int().min(0).max(10_000).optional().openapi({
      description: "Messages per second the dispatcher releases; 0 pauses (accepted messages wait)",
    }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code, e.g. CNY")
      .optional(),
    prices: z
      .record(Country, Price)
      .refine((p) => Object.keys(p).length <= 250, "at most 250 countries")
      .optional()
      .openapi({
        description: "Replaces the whole price table",
        example: { CN: "0.0450" },
      }),
    quiet_hours: QuietHoursSchema.nullable().optional().openapi({
      description: "null turns quiet hours off",
    }),
    verification_opt_out_exempt: z.boolean().optional().openapi({
      description: "true: verification codes still go to numbers that opted out (off by default)",
    }),
    opt_out_confirmation: OptOutConfirmationSchema.nullable().optional().openapi({
      description: "null sends no confirmation",
    }),
    verification_limits: VerificationLimitsSchema.partial().strict().optional().openapi({
      description:
        "The members given replace theirs (defaults 1 a minute, 5 an hour, 10 a day, 30 per range an hour, 10,000 per country a day)",
    }),
    fraud_guard: FraudGuardSchema.partial().strict().optional().openapi({
      description:
        "The members given replace theirs (defaults: on, threshold 0.2, minimum volume 20)",
    }),
    budget: z
      .object({ monthly_limit: Amount })
      .strict()
      .nullable()
      .optional()
      .openapi({
        description:
          "A monthly spending limit in `currency` (events at 80% and 100%); null removes it",
        example: { monthly_limit: 50 },
      }),
    retention: RetentionSchema.partial().strict().optional().openapi({
      description:
        "The members given replace theirs (default 180 days each); bodies_days longer than messages_days is a 422",
    }),
    desk: DeskSchema.partial().strict().optional().openapi({
      description:
        "The members given replace theirs (working_hours whole); defaults: off, Asia/Shanghai, Mon–Fri 09:00–18:00, keywords 人工 客服 agent human, 300 s in the queue",
    }),
  })
  .strict();
export type TenantUpdate = z.infer<typeof TenantUpdateSchema>;

/** The service's changes for a checked update (its snake_case members to the service's names). */
export function tenantChangesOf(body: TenantUpdate): TenantChanges {
  return {
    name: body.name,
    homeCountry: body.home_country,
    allowedCountries: body.allowed_countries ? [...new Set(body.allowed_countries)] : undefined,
    sendRate: body.send_rate,
    currency: body.currency,
    prices: body.prices,
    quietHours: body.quiet_hours,
    verificationOptOutExempt: body.verification_opt_out_exempt,
    optOutConfirmation: body.opt_out_confirmation,
    verificationLimits: body.verification_limits && {
      perMinute: body.verification_limits.per_minute,
      perHour: body.verification_limits.per_hour,
      perDay: body.verification_limits.per_day,
      prefixPerHour: body.verification_limits.prefix_per_hour,
      countryPerDay: body.verification_limits.country_per_day,
    },
    fraudGuard: body.fraud_guard && {
      enabled: body.fraud_guard.enabled,
      threshold: body.fraud_guard.threshold,
      minVolume: body.fraud_guard.min_volume,
    },
    budgetMicros:
      body.budget === undefined
        ? undefined
        : body.budget === null
          ? null
          : Math.round(body.budget.monthly_limit * 1_000_000),
    retention: body.retention && {
      bodiesDays: body.retention.bodies_days,
      messagesDays: body.retention.messages_days,
      inboundDays: body.retention.inbound_days,
    },
    desk: body.desk && {
      enabled: body.desk.enabled,
      timeZone: body.desk.time_zone,
      workingHours: body.desk.working_hours as DeskSettings["workingHours"] | undefined,
      handoffKeywords: body.desk.handoff_keywords,
      handoffMenuKeys: body.desk.handoff_menu_keys,
      afterHoursAnswer: body.desk.after_hours_answer,
      noAgentAnswer: body.desk.no_agent_answer,
      maxQueueSeconds: body.desk.max_queue_seconds,
      leftMessageDueHours: body.desk.left_message_due_hours,
      satisfactionSurvey: body.desk.satisfaction_survey,
      satisfactionQuestion: body.desk.satisfaction_question,
      inspectionSamplePercent: body.desk.inspection_sample_percent,
    },
  };
}

/** The desk settings as the API shows them. */
export function deskView(d: DeskSettings) {
  return {
    enabled: d.enabled,
    time_zone: d.timeZone,
    working_hours: Object.fromEntries(WEEKDAYS.map((day) => [day, [...d.workingHours[day]]])),
    handoff_keywords: [...d.handoffKeywords],
    handoff_menu_keys: [...d.handoffMenuKeys],
    after_hours_answer: d.afterHoursAnswer,
    no_agent_answer: d.noAgentAnswer,
    max_queue_seconds: d.maxQueueSeconds,
    left_message_due_hours: d.leftMessageDueHours,
    satisfaction_survey: d.satisfactionSurvey,
    satisfaction_question: d.satisfactionQuestion,
    inspection_sample_percent: d.inspectionSamplePercent,
  };
}
