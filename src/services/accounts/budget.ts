/**
 * The tenant's spending limits as the API shows them (domain/budget): the policy a send is checked
 * against by the dispatcher, the 422 of a refused send, and this month's figures.
 */
import { dispatcherOf } from "../../delivery/dispatcher";
import {
  BUDGET_THRESHOLDS,
  type BudgetPolicy,
  type BudgetRefusal,
  type BudgetUsage,
  budgetZoneOf,
} from "../../domain/budget";
import { fromMicros } from "../../domain/pricing";
import { ApiError } from "../../lib/problem";
import { shardCounts, shardStubs } from "../messaging/dispatch-shards";

interface BudgetSettings {
  homeCountry: string;
  currency: string;
  budgetMicros: number | null;
}

export function budgetPolicyOf(tenant: BudgetSettings): BudgetPolicy {
  return {
    limitMicros: tenant.budgetMicros,
    zone: budgetZoneOf(tenant.homeCountry),
    currency: tenant.currency,
  };
}

/** The 422 `budget-exceeded` naming the budget, what it allows, what is used and what is left. */
export function budgetExceeded(refusal: BudgetRefusal, currency: string): ApiError {
  if (refusal.budget === "monthly") {
    const remaining = Math.max(0, refusal.limitMicros - refusal.usedMicros);
    return new ApiError(
      "budget-exceeded",
      `This would pass your monthly budget of ${fromMicros(refusal.limitMicros)} ${currency} for ${refusal.month}: ${fromMicros(refusal.usedMicros)} is used, ${fromMicros(remaining)} remains and this costs ${fromMicros(refusal.costMicros)}. Nothing was sent.`,
      {
        extensions: {
          budget: "monthly",
          month: refusal.month,
          limit: fromMicros(refusal.limitMicros),
          used: fromMicros(refusal.usedMicros),
          remaining: fromMicros(remaining),
          cost: fromMicros(refusal.costMicros),
          currency,
        },
      },
    );
  }
  const remaining = Math.max(0, refusal.balanceMicros);
  return new ApiError(
    "budget-exceeded",
    `This would take your prepaid balance below zero: ${fromMicros(remaining)} ${currency} remains and this costs ${fromMicros(refusal.costMicros)}. Nothing was sent.`,
    {
      extensions: {
        budget: "balance",
        balance: fromMicros(refusal.balanceMicros),
        remaining: fromMicros(remaining),
        cost: fromMicros(refusal.costMicros),
        currency,
      },
    },
  );
}

/** The setting as GET/PATCH /v1/tenant show it. */
export function budgetSettingView(budgetMicros: number | null) {
  return budgetMicros === null
    ? null
    : { monthly_limit: fromMicros(budgetMicros), thresholds: [...BUDGET_THRESHOLDS] };
}

export interface BudgetUsageView {
  month: string;
  used: number;
  remaining: number | null;
  balance: number | null;
  currency: string;
}

/** Shards' usage as one: the first shard's month and settings, every shard's spending. */
function addedUp(usages: BudgetUsage[]): BudgetUsage {
  const [first, ...rest] = usages;
  if (!first) {
    throw new Error("a tenant has at least one dispatcher shard");
  }
  let usedMicros = first.usedMicros;
  for (const usage of rest) {
    usedMicros += usage.usedMicros;
  }
  return { ...first, usedMicros };
}

/** This month's spending (the tenant's zone), what remains of budget and balance, the balance. */
export async function budgetUsageOf(
  env: Env,
  tenantId: string,
  tenant: BudgetSettings,
): Promise<BudgetUsageView> {
  const policy = budgetPolicyOf(tenant);
  const counts = await shardCounts(env, [tenantId]);
  const stubs = shardStubs(env, tenantId, counts.get(tenantId));
  const usage =
    stubs.length === 1
      ? await dispatcherOf(env, tenantId).budgetUsage(policy)
      : // A sharded tenant has no budget and no balance (platform-tenants refuses them): its
        // spending is each shard's, added up.
        addedUp(await Promise.all(stubs.map((stub) => stub.budgetUsage(policy))));
  return {
    month: usage.month,
    used: fromMicros(usage.usedMicros),
    remaining: usage.remainingMicros === null ? null : fromMicros(usage.remainingMicros),
    balance: usage.balanceMicros === null ? null : fromMicros(usage.balanceMicros),
    currency: tenant.currency,
  };
}
