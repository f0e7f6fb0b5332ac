/**
 * The tenant's spending (domain/budget): the running total of each month and the prepaid balance,
 * kept in the dispatcher's SQLite so that the check and the charge are part of accepting, in the
 * same synchronous transaction as the outbox insert. Concurrent sends are serialised by the object
 * itself, so a budget is never passed by two sends that each saw room for one.
 *
 * budget_months: each month's total (the tenant's zone) and the thresholds announced in it
 * (`announced`: 1 for 80%, 2 for 100%). budget_balance: the prepaid balance, one row once topped
 * up (no row: no balance). budget_events: `budget.threshold` events not yet handed to the webhook
 * queue. budget_cuts: what a batch committed with `partial` had refused, for as long as the batch
 * is remembered as committed, so a retried upload is answered the same. budget_top_ups: the
 * top-ups made under an id (an Idempotency-Key's claim) for two days, so one made again adds
 * nothing. On the outbox row, `charged_micros`, `charged_month` and `charged_balance` say what the
 * message was charged, so a cancel gives back exactly that.
 */
import type { MessageEvent } from "../../delivery/webhook-events";
import {
  BUDGET_THRESHOLDS,
  type BudgetPolicy,
  type BudgetRefusal,
  type BudgetThreshold,
  type BudgetUsage,
  monthOf,
  remainingOf,
  thresholdsPassed,
} from "../../domain/budget";
import { fromMicros } from "../../domain/pricing";
import { firstRow } from "../../lib/sql-rows";

export function migrateBudget(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS budget_months (
      month TEXT PRIMARY KEY,
      used_micros INTEGER NOT NULL,
      announced INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS budget_balance (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      micros INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS budget_events (id TEXT PRIMARY KEY, event TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS budget_cuts (batch_id TEXT PRIMARY KEY, cut TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS budget_top_ups (
      id TEXT PRIMARY KEY,
      before_micros INTEGER NOT NULL,
      after_micros INTEGER NOT NULL,
      at INTEGER NOT NULL
    );
  `);
  const columns = new Set(
    sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info('outbox')")
      .toArray()
      .map((c) => c.name),
  );
  const added: [string, string][] = [
    ["charged_micros", "INTEGER NOT NULL DEFAULT 0"],
    ["charged_month", "TEXT"],
    ["charged_balance", "INTEGER NOT NULL DEFAULT 0"],
  ];
  for (const [name, definition] of added) {
    if (!columns.has(name)) {
      sql.exec(`ALTER TABLE outbox ADD COLUMN ${name} ${definition}`);
    }
  }
}

/** A message to charge: live messages only (test mode never counts). */
export interface Charge {
  id: string;
  costMicros: number;
}

/** How many of the charges (in order) fit, and why the first that does not fit was refused. */
export interface ChargePlan {
  month: string;
  usedMicros: number;
  balanceMicros: number | null;
  fits: number;
  /** The sum of the charges that fit. */
  fitMicros: number;
  refusal: BudgetRefusal | null;
}

function usedIn(sql: SqlStorage, month: string): number {
  return Number(
    firstRow(sql, "SELECT used_micros FROM budget_months WHERE month = ?", month)?.used_micros ?? 0,
  );
}

function balanceOf(sql: SqlStorage): number | null {
  const row = firstRow(sql, "SELECT micros FROM budget_balance WHERE id = 1");
  return row ? Number(row.micros) : null;
}

/**
 * Which charges fit, in order: each must stay within the month's budget and the balance. A charge
 * of 0 always fits. Reads only; `applyCharges` writes what was decided.
 */
export function planCharges(
  sql: SqlStorage,
  policy: BudgetPolicy,
  charges: readonly Charge[],
  now: number,
): ChargePlan {
  if (!charges.some((c) => c.costMicros > 0)) {
    // Nothing to charge (test mode, WeChat): no storage read on the hot path.
    return {
      month: "",
      usedMicros: 0,
      balanceMicros: null,
      fits: charges.length,
      fitMicros: 0,
      refusal: null,
    };
  }
  const month = monthOf(now, policy.zone);
  const usedMicros = usedIn(sql, month);
  const balanceMicros = balanceOf(sql);
  let fitMicros = 0;
  let fits = 0;
  let refusal: BudgetRefusal | null = null;
  for (const charge of charges) {
    const after = fitMicros + charge.costMicros;
    if (charge.costMicros > 0) {
      if (policy.limitMicros !== null && usedMicros + after > policy.limitMicros) {
        refusal = {
          budget: "monthly",
          month,
          limitMicros: policy.limitMicros,
          usedMicros,
          costMicros: 0,
        };
      } else if (balanceMicros !== null && after > balanceMicros) {
        refusal = { budget: "balance", balanceMicros, costMicros: 0 };
      }
      if (refusal) {
        break;
      }
    }
    fitMicros = after;
    fits++;
  }
  if (refusal) {
    // What the refused part would have cost, for the problem's `cost`.
    refusal.costMicros = charges.slice(fits).reduce((sum, c) => sum + c.costMicros, 0);
  }
  return { month, usedMicros, balanceMicros, fits, fitMicros, refusal };
}

/**
 * Charges the first `plan.fits` of `charges` (their outbox rows exist by now) to the month and the
 * balance, and queues a `budget.threshold` event for each threshold crossed for the first time in
 * the month. Returns whether an event was queued (the caller then flushes them).
 */
export function applyCharges(
  sql: SqlStorage,
  policy: BudgetPolicy & { tenantId: string },
  plan: ChargePlan,
  charges: readonly Charge[],
  now: number,
): boolean {
  if (plan.fitMicros === 0) {
    return false;
  }
  const fromBalance = plan.balanceMicros === null ? 0 : 1;
  for (const charge of charges.slice(0, plan.fits)) {
    if (charge.costMicros > 0) {
      sql.exec(
        "UPDATE outbox SET charged_micros = ?, charged_month = ?, charged_balance = ? WHERE id = ?",
        charge.costMicros,
        plan.month,
        fromBalance,
        charge.id,
      );
    }
  }
  const after = plan.usedMicros + plan.fitMicros;
  sql.exec(
    `INSERT INTO budget_months (month, used_micros) VALUES (?, ?)
     ON CONFLICT (month) DO UPDATE SET used_micros = used_micros + excluded.used_micros`,
    plan.month,
    plan.fitMicros,
  );
  if (plan.balanceMicros !== null) {
    sql.exec("UPDATE budget_balance SET micros = micros - ? WHERE id = 1", plan.fitMicros);
  }
  if (policy.limitMicros === null) {
    return false;
  }
  const announced = Number(
    firstRow(sql, "SELECT announced FROM budget_months WHERE month = ?", plan.month)?.announced ??
      0,
  );
  const fresh = thresholdsPassed(policy.limitMicros, plan.usedMicros, after).filter(
    (t) => (announced & bitOf(t)) === 0,
  );
  if (fresh.length === 0) {
    return false;
  }
  let bits = announced;
  for (const threshold of fresh) {
    bits |= bitOf(threshold);
    const event: MessageEvent = {
      type: "budget.threshold",
      tenantId: policy.tenantId,
      // The event's id follows from it: emitted twice, it is delivered once.
      messageId: `budget:${plan.month}:${threshold}`,
      occurredAt: now,
      data: budgetThresholdData(threshold, plan.month, policy.limitMicros, after, policy.currency),
    };
    sql.exec(
      "INSERT OR IGNORE INTO budget_events (id, event) VALUES (?, ?)",
      event.messageId,
      JSON.stringify(event),
    );
  }
  sql.exec("UPDATE budget_months SET announced = ? WHERE month = ?", bits, plan.month);
  return true;
}

/** The `data` of a `budget.threshold` event (webhook-doc.ts documents it as BudgetEventData). */
export function budgetThresholdData(
  threshold: BudgetThreshold,
  month: string,
  limitMicros: number,
  usedMicros: number,
  currency: string,
) {
  return {
    threshold,
    month,
    limit: fromMicros(limitMicros),
    used: fromMicros(usedMicros),
    remaining: fromMicros(Math.max(0, limitMicros - usedMicros)),
    currency,
  };
}

function bitOf(threshold: BudgetThreshold): number {
  return 1 << BUDGET_THRESHOLDS.indexOf(threshold);
}

/** The threshold events waiting to be handed over. */
export function pendingBudgetEvents(sql: SqlStorage): MessageEvent[] {
  return sql
    .exec<{ event: string }>("SELECT event FROM budget_events ORDER BY id")
    .toArray()
    .map((row) => JSON.parse(row.event) as MessageEvent);
}

export function forgetBudgetEvents(sql: SqlStorage, events: readonly MessageEvent[]): void {
  for (const event of events) {
    sql.exec("DELETE FROM budget_events WHERE id = ?", event.messageId);
  }
}

/**
 * Gives back what the outbox rows matching `where` were charged (a cancel before sending), to the
 * month each was counted in and to the balance if it drew on it; each row is refunded once.
 */
export function refundCharges(
  sql: SqlStorage,
  where: string,
  ...params: (string | number)[]
): void {
  const rows = sql
    .exec<{ month: string; micros: number; balance: number }>(
      `SELECT charged_month AS month, SUM(charged_micros) AS micros, charged_balance AS balance
       FROM outbox WHERE charged_micros > 0 AND (${where})
       GROUP BY charged_month, charged_balance`,
      ...params,
    )
    .toArray();
  if (rows.length === 0) {
    return;
  }
  for (const row of rows) {
    sql.exec(
      "UPDATE budget_months SET used_micros = MAX(0, used_micros - ?) WHERE month = ?",
      row.micros,
      row.month,
    );
    if (row.balance === 1) {
      sql.exec("UPDATE budget_balance SET micros = micros + ? WHERE id = 1", row.micros);
    }
  }
  sql.exec(
    `UPDATE outbox SET charged_micros = 0 WHERE charged_micros > 0 AND (${where})`,
    ...params,
  );
}

/** This month's figures, in the tenant's zone. */
export function budgetUsage(sql: SqlStorage, policy: BudgetPolicy, now: number): BudgetUsage {
  const month = monthOf(now, policy.zone);
  const usedMicros = usedIn(sql, month);
  const balanceMicros = balanceOf(sql);
  return {
    month,
    usedMicros,
    limitMicros: policy.limitMicros,
    remainingMicros: remainingOf(policy.limitMicros, usedMicros, balanceMicros),
    balanceMicros,
  };
}

/** What a top-up did: the balance before and after it, and whether this call made it. */
export interface TopUp {
  beforeMicros: number;
  balanceMicros: number;
  applied: boolean;
}

/** How long a top-up's id is remembered: longer than an Idempotency-Key's claim can be rerun. */
const TOP_UP_MEMORY_MS = 2 * 86_400_000;

/**
 * Adds to the prepaid balance (starting one at 0 on the first top-up). Under an `id` already
 * used it adds nothing and answers as that top-up did.
 */
export function topUpBalance(
  sql: SqlStorage,
  micros: number,
  id?: string,
  now = Date.now(),
): TopUp {
  if (id !== undefined) {
    sql.exec("DELETE FROM budget_top_ups WHERE at < ?", now - TOP_UP_MEMORY_MS);
    const made = firstRow(
      sql,
      "SELECT before_micros, after_micros FROM budget_top_ups WHERE id = ?",
      id,
    );
    if (made) {
      return {
        beforeMicros: Number(made.before_micros),
        balanceMicros: Number(made.after_micros),
        applied: false,
      };
    }
  }
  const beforeMicros = balanceOf(sql) ?? 0;
  sql.exec(
    `INSERT INTO budget_balance (id, micros) VALUES (1, ?)
     ON CONFLICT (id) DO UPDATE SET micros = micros + excluded.micros`,
    micros,
  );
  const balanceMicros = balanceOf(sql) ?? micros;
  if (id !== undefined) {
    sql.exec(
      "INSERT INTO budget_top_ups (id, before_micros, after_micros, at) VALUES (?, ?, ?, ?)",
      id,
      beforeMicros,
      balanceMicros,
      now,
    );
  }
  return { beforeMicros, balanceMicros, applied: true };
}

/** A batch's cut at the budget, as its commit answered it. */
export interface BudgetCut {
  refused: string[];
  refusal: BudgetRefusal;
}

export function rememberBudgetCut(sql: SqlStorage, batchId: string, cut: BudgetCut): void {
  sql.exec(
    "INSERT OR REPLACE INTO budget_cuts (batch_id, cut) VALUES (?, ?)",
    batchId,
    JSON.stringify(cut),
  );
}

/** The cut a committed batch had, or null when it was committed whole. */
export function budgetCutOf(sql: SqlStorage, batchId: string): BudgetCut | null {
  const row = firstRow(sql, "SELECT cut FROM budget_cuts WHERE batch_id = ?", batchId);
  return row ? (JSON.parse(String(row.cut)) as BudgetCut) : null;
}
