/**
 * Spending limits: a monthly budget (the month in the tenant's time zone) and an optional prepaid
 * balance. Each live message counts with its cost as estimated at acceptance; test-mode messages
 * never count. Cost 0 (a WeChat template message) always passes. A message canceled before it is
 * sent gives its cost back (to the month it was counted in, and to the balance it drew on).
 * Webhook events `budget.threshold` fire at 80% and 100% of the budget, once each per month.
 */
import { timeZonesOf } from "./quiet-hours";

/** Percentages of the monthly budget whose crossing is announced. */
export const BUDGET_THRESHOLDS = [80, 100] as const;
export type BudgetThreshold = (typeof BUDGET_THRESHOLDS)[number];

/** What the dispatcher checks a message against: the tenant's budget and its zone's month. */
export interface BudgetPolicy {
  /** Millionths of the tenant's currency a month; null: no monthly budget. */
  limitMicros: number | null;
  /** The IANA zone whose calendar months the budget runs by. */
  zone: string;
  /** The tenant's currency, which the amounts are in. */
  currency: string;
}

/** The tenant's zone: its home country's (the first the tz database lists), as auto-replies use. */
export function budgetZoneOf(homeCountry: string): string {
  return timeZonesOf(homeCountry).at(0) ?? "UTC";
}

const monthFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar month, "YYYY-MM", that `at` (Unix ms) falls in, in `zone`. */
export function monthOf(at: number, zone: string): string {
  let format = monthFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
    });
    monthFormats.set(zone, format);
  }
  let year = "";
  let month = "";
  for (const part of format.formatToParts(at)) {
    if (part.type === "year") {
      year = part.value;
    } else if (part.type === "month") {
      month = part.value;
    }
  }
  return `${year}-${month}`;
}

/** The thresholds a month's total passes on its way from `before` to `after`. */
export function thresholdsPassed(
  limitMicros: number,
  before: number,
  after: number,
): BudgetThreshold[] {
  return BUDGET_THRESHOLDS.filter((percent) => {
    // Integer arithmetic: 80% of 0.05 is exactly 0.04, never 0.039999….
    const mark = limitMicros * percent;
    return before * 100 < mark && after * 100 >= mark;
  });
}

/** Why a send was refused: the month's budget, or the prepaid balance. Amounts in micros. */
export type BudgetRefusal =
  | {
      budget: "monthly";
      month: string;
      limitMicros: number;
      usedMicros: number;
      costMicros: number;
    }
  | { budget: "balance"; balanceMicros: number; costMicros: number };

/** Where a tenant stands this month; `remainingMicros` is null with neither budget nor balance. */
export interface BudgetUsage {
  month: string;
  usedMicros: number;
  limitMicros: number | null;
  remainingMicros: number | null;
  balanceMicros: number | null;
}

/** What may still be spent: the smaller of the month's budget left and the balance. */
export function remainingOf(
  limitMicros: number | null,
  usedMicros: number,
  balanceMicros: number | null,
): number | null {
  const left = [
    limitMicros === null ? null : Math.max(0, limitMicros - usedMicros),
    balanceMicros === null ? null : Math.max(0, balanceMicros),
  ].filter((v): v is number => v !== null);
  return left.length === 0 ? null : Math.min(...left);
}
