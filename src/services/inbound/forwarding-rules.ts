/**
 * A tenant's forwarding rules (`fwd_`): inbound messages that match (all of them, or a keyword as
 * the auto-replies match it) are copied to a phone number or to one of the tenant's webhook
 * endpoints. Every change goes through the audit writer, in the same batch. A rule can name only
 * an endpoint of its own tenant: another tenant's id is refused like a missing one.
 */
import { and, desc, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { forwardingRules, webhookEndpoints } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { TtlCache } from "../../lib/ttl-cache";
import { audited } from "../audit/audit-log";

export type ForwardingRuleRow = typeof forwardingRules.$inferSelect;
export type ForwardingMatch = ForwardingRuleRow["match"];
export type ForwardingTarget = ForwardingRuleRow["targetType"];

export interface ForwardingRuleInput {
  match: ForwardingMatch;
  keyword?: string | null;
  target_type: ForwardingTarget;
  target: string;
}

const RULES_TTL_MS = 10_000;
const cache = new TtlCache<string, Promise<ForwardingRuleRow[]>>({ ttlMs: RULES_TTL_MS });

const ofTenant = (tenantId: string, id: string) =>
  and(eq(forwardingRules.id, id), eq(forwardingRules.tenantId, tenantId));

const auditedFields = (row: ForwardingRuleRow) => ({
  match: row.match,
  keyword: row.keyword,
  target_type: row.targetType,
  target: row.target,
});

function checkedKeyword(match: ForwardingMatch, keyword: string | null | undefined): string | null {
  if (match === "all") {
    return null;
  }
  const trimmed = keyword?.trim() ?? "";
  if (trimmed === "") {
    throw new ApiError("unprocessable-entity", `A ${match} rule needs its keyword.`, {
      errors: [{ pointer: "/keyword", detail: "required for exact, prefix and contains" }],
    });
  }
  return trimmed;
}

async function checkedTarget(
  env: Env,
  caller: Caller,
  type: ForwardingTarget,
  target: string,
): Promise<string> {
  if (type === "phone") {
    if (!target.trim().startsWith("+")) {
      throw new ApiError("unprocessable-entity", "A phone target is an E.164 number (+…).", {
        errors: [{ pointer: "/target", detail: "write the number in E.164, with its +" }],
      });
    }
    const phone = normalisePhone(target, caller.tenant.homeCountry);
    if (!phone.ok) {
      throw new ApiError("unprocessable-entity", phone.error.detail, {
        errors: [{ pointer: "/target", detail: phone.error.detail }],
      });
    }
    return phone.e164;
  }
  const endpoint = await database(env.DB)
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, target), eq(webhookEndpoints.tenantId, caller.tenant.id)))
    .get();
  if (!endpoint) {
    throw new ApiError("unprocessable-entity", `No webhook endpoint ${target}.`, {
      errors: [{ pointer: "/target", detail: "not a webhook endpoint of this account" }],
    });
  }
  return endpoint.id;
}

export async function listForwardingRules(env: Env, caller: Caller): Promise<ForwardingRuleRow[]> {
  return database(env.DB)
    .select()
    .from(forwardingRules)
    .where(eq(forwardingRules.tenantId, caller.tenant.id))
    .orderBy(desc(forwardingRules.id));
}

export async function getForwardingRule(
  env: Env,
  caller: Caller,
  id: string,
): Promise<ForwardingRuleRow> {
  const row = await database(env.DB)
    .select()
    .from(forwardingRules)
    .where(ofTenant(caller.tenant.id, id))
    .get();
  if (!row) {
    throw new ApiError("not-found", `No forwarding rule ${id}.`);
  }
  return row;
}

export async function createForwardingRule(
  env: Env,
  caller: Caller,
  input: ForwardingRuleInput,
  now: number = Date.now(),
): Promise<ForwardingRuleRow> {
  const row: ForwardingRuleRow = {
    id: newId("fwd", now),
    tenantId: caller.tenant.id,
    match: input.match,
    keyword: checkedKeyword(input.match, input.keyword),
    targetType: input.target_type,
    target: await checkedTarget(env, caller, input.target_type, input.target),
    createdAt: now,
    updatedAt: now,
  };
  await audited(
    env,
    caller,
    { action: "forwarding_rule.create", target: row.id, diff: diffOf({}, auditedFields(row)) },
    [database(env.DB).insert(forwardingRules).values(row)],
  );
  cache.delete(caller.tenant.id);
  return row;
}

export async function updateForwardingRule(
  env: Env,
  caller: Caller,
  id: string,
  changes: Partial<ForwardingRuleInput>,
  now: number = Date.now(),
): Promise<ForwardingRuleRow> {
  const before = await getForwardingRule(env, caller, id);
  const match = changes.match ?? before.match;
  const targetType = changes.target_type ?? before.targetType;
  if (changes.target_type !== undefined && changes.target === undefined) {
    throw new ApiError("unprocessable-entity", "A new target_type needs its target.", {
      errors: [{ pointer: "/target", detail: "required with target_type" }],
    });
  }
  const after: ForwardingRuleRow = {
    ...before,
    match,
    keyword: checkedKeyword(
      match,
      changes.keyword === undefined ? before.keyword : changes.keyword,
    ),
    targetType,
    target:
      changes.target === undefined
        ? before.target
        : await checkedTarget(env, caller, targetType, changes.target),
    updatedAt: now,
  };
  const diff = diffOf(auditedFields(before), auditedFields(after));
  if (Object.keys(diff).length === 0) {
    return before;
  }
  await audited(env, caller, { action: "forwarding_rule.update", target: id, diff }, [
    database(env.DB)
      .update(forwardingRules)
      .set({
        match: after.match,
        keyword: after.keyword,
        targetType: after.targetType,
        target: after.target,
        updatedAt: now,
      })
      .where(ofTenant(caller.tenant.id, id)),
  ]);
  cache.delete(caller.tenant.id);
  return after;
}

export async function deleteForwardingRule(env: Env, caller: Caller, id: string): Promise<void> {
  const before = await getForwardingRule(env, caller, id);
  await audited(
    env,
    caller,
    { action: "forwarding_rule.delete", target: id, diff: diffOf(auditedFields(before), {}) },
    [database(env.DB).delete(forwardingRules).where(ofTenant(caller.tenant.id, id))],
  );
  cache.delete(caller.tenant.id);
}

/** The tenant's rules for the forwarding stage; another isolate's change applies within 10 s. */
export function tenantForwardingRules(
  env: Env,
  tenantId: string,
  now: number = Date.now(),
): Promise<ForwardingRuleRow[]> {
  const cached = cache.get(tenantId, now);
  if (cached) {
    return cached;
  }
  const rules = database(env.DB)
    .select()
    .from(forwardingRules)
    .where(eq(forwardingRules.tenantId, tenantId))
    .then((rows) => rows);
  cache.set(tenantId, rules, now);
  rules.catch(() => cache.delete(tenantId, rules));
  return rules;
}
