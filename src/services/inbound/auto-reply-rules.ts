/**
 * A tenant's SMS keyword auto-replies (`auto_reply_rules` with channel `sms`, scope `*`: every
 * number of the tenant), and the cached read the auto-reply stage matches against. Every change
 * goes through the audit writer, in the same batch. The WeChat rules share the table and the
 * matcher (domain/auto-replies) but live under their app (services/wechat/auto-replies).
 */
import { and, asc, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { autoReplyRules } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { ActiveWindow, AutoReplyRule } from "../../domain/auto-replies";
import type { Caller } from "../../domain/caller";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { TtlCache } from "../../lib/ttl-cache";
import { audited } from "../audit/audit-log";
import { servingTemplate } from "../content/serving-templates";
import { checkQueryEndpoint } from "../webhooks/queries";

export type SmsAutoReplyRow = typeof autoReplyRules.$inferSelect;

/** The SMS rules answer on every number of the tenant. */
export const SMS_SCOPE = "*";

export type SmsKeywordMatch = "exact" | "prefix" | "contains";

/** A text, or an approved template with its variables. */
export type SmsReply =
  | { type: "text"; content: string }
  | { type: "template"; template_id: string; variables?: Record<string, string> }
  | { type: "query"; endpoint_id: string };

export interface SmsAutoReplyInput {
  match: SmsKeywordMatch;
  keyword: string;
  reply: SmsReply;
  priority?: number;
  active_window?: ActiveWindow | null;
}

const RULES_TTL_MS = 10_000;
const cache = new TtlCache<string, Promise<AutoReplyRule<SmsReply>[]>>({ ttlMs: RULES_TTL_MS });

function ofTenant(tenantId: string) {
  return and(
    eq(autoReplyRules.tenantId, tenantId),
    eq(autoReplyRules.channel, "sms"),
    eq(autoReplyRules.scope, SMS_SCOPE),
  );
}

/** What an audit entry shows of a rule. */
const auditedFields = (row: SmsAutoReplyRow) => ({
  match: row.match,
  keyword: row.keyword,
  reply: row.reply,
  priority: row.priority,
  active_window: row.activeWindow ?? null,
});

async function checkReply(env: Env, tenantId: string, reply: SmsReply): Promise<void> {
  if (reply.type === "query") {
    await checkQueryEndpoint(env, tenantId, reply.endpoint_id, "/reply/endpoint_id");
    return;
  }
  if (reply.type !== "template") {
    return;
  }
  try {
    await servingTemplate(env, tenantId, reply.template_id);
  } catch (error) {
    if (error instanceof ApiError) {
      throw new ApiError(
        "unprocessable-entity",
        `Template ${reply.template_id} is unknown or has no approved version.`,
        { errors: [{ pointer: "/reply/template_id", detail: "not an approved template" }] },
      );
    }
    throw error;
  }
}

function checkWindow(window: ActiveWindow | null | undefined): void {
  if (window && window.days.length === 0) {
    throw new ApiError("unprocessable-entity", "An active window needs at least one day.", {
      errors: [{ pointer: "/active_window/days", detail: "name at least one day (1 to 7)" }],
    });
  }
}

export async function listSmsAutoReplies(env: Env, caller: Caller): Promise<SmsAutoReplyRow[]> {
  return database(env.DB)
    .select()
    .from(autoReplyRules)
    .where(ofTenant(caller.tenant.id))
    .orderBy(asc(autoReplyRules.priority), asc(autoReplyRules.id));
}

export async function getSmsAutoReply(
  env: Env,
  caller: Caller,
  id: string,
): Promise<SmsAutoReplyRow> {
  const row = await database(env.DB)
    .select()
    .from(autoReplyRules)
    .where(and(eq(autoReplyRules.id, id), ofTenant(caller.tenant.id)))
    .get();
  if (!row) {
    throw new ApiError("not-found", `No auto-reply rule ${id}.`);
  }
  return row;
}

export async function createSmsAutoReply(
  env: Env,
  caller: Caller,
  input: SmsAutoReplyInput,
  now: number = Date.now(),
): Promise<SmsAutoReplyRow> {
  await checkReply(env, caller.tenant.id, input.reply);
  checkWindow(input.active_window);
  const row: SmsAutoReplyRow = {
    id: newId("arr", now),
    tenantId: caller.tenant.id,
    channel: "sms",
    scope: SMS_SCOPE,
    match: input.match,
    keyword: input.keyword.trim(),
    reply: input.reply,
    activeWindow: input.active_window ?? null,
    priority: input.priority ?? 100,
    createdAt: now,
  };
  await audited(
    env,
    caller,
    { action: "auto_reply.create", target: row.id, diff: diffOf({}, auditedFields(row)) },
    [database(env.DB).insert(autoReplyRules).values(row)],
  );
  cache.delete(caller.tenant.id);
  return row;
}

export async function updateSmsAutoReply(
  env: Env,
  caller: Caller,
  id: string,
  changes: Partial<SmsAutoReplyInput>,
): Promise<SmsAutoReplyRow> {
  const before = await getSmsAutoReply(env, caller, id);
  if (changes.reply) {
    await checkReply(env, caller.tenant.id, changes.reply);
  }
  checkWindow(changes.active_window);
  const after: SmsAutoReplyRow = {
    ...before,
    match: changes.match ?? before.match,
    keyword: changes.keyword?.trim() ?? before.keyword,
    reply: changes.reply ?? before.reply,
    priority: changes.priority ?? before.priority,
    activeWindow: changes.active_window === undefined ? before.activeWindow : changes.active_window,
  };
  const diff = diffOf(auditedFields(before), auditedFields(after));
  if (Object.keys(diff).length === 0) {
    return before;
  }
  await audited(env, caller, { action: "auto_reply.update", target: id, diff }, [
    database(env.DB)
      .update(autoReplyRules)
      .set({
        match: after.match,
        keyword: after.keyword,
        reply: after.reply,
        priority: after.priority,
        activeWindow: after.activeWindow,
      })
      .where(and(eq(autoReplyRules.id, id), ofTenant(caller.tenant.id))),
  ]);
  cache.delete(caller.tenant.id);
  return after;
}

export async function deleteSmsAutoReply(env: Env, caller: Caller, id: string): Promise<void> {
  const before = await getSmsAutoReply(env, caller, id);
  await audited(
    env,
    caller,
    { action: "auto_reply.delete", target: id, diff: diffOf(auditedFields(before), {}) },
    [
      database(env.DB)
        .delete(autoReplyRules)
        .where(and(eq(autoReplyRules.id, id), ofTenant(caller.tenant.id))),
    ],
  );
  cache.delete(caller.tenant.id);
}

/** The tenant's SMS rules for the auto-reply stage; another isolate's change applies within 10 s. */
export function smsRules(
  env: Env,
  tenantId: string,
  now: number = Date.now(),
): Promise<AutoReplyRule<SmsReply>[]> {
  const cached = cache.get(tenantId, now);
  if (cached) {
    return cached;
  }
  const rules = database(env.DB)
    .select()
    .from(autoReplyRules)
    .where(ofTenant(tenantId))
    .then((rows) => rows.map((row) => ({ ...row, reply: row.reply as SmsReply })));
  cache.set(tenantId, rules, now);
  rules.catch(() => cache.delete(tenantId, rules));
  return rules;
}
