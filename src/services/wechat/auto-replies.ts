/**
 * A WeChat account's auto-reply rules (the matcher is the SMS keywords' too), cached for the
 * webhook, and its inbox. Both are the tenant's: an app id can pass to another tenant once its
 * owner deletes the app (which deletes these rows), so every query names the tenant. Changes are
 * audited (`auto_reply.create|delete`, with the app id in the diff).
 */
import { and, asc, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { autoReplyRules, wechatInbox } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { ActiveWindow, AutoReplyRule } from "../../domain/auto-replies";
import type { Caller } from "../../domain/caller";
import type { AutoReplyMatch } from "../../domain/vocabulary";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { TtlCache } from "../../lib/ttl-cache";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";
import { checkQueryEndpoint } from "../webhooks/queries";
import { getWeChatApp } from "./apps";

export type AutoReplyRow = typeof autoReplyRules.$inferSelect;
export type InboxRow = typeof wechatInbox.$inferSelect;

const RULES_TTL_MS = 10_000;
const cache = new TtlCache<string, Promise<AutoReplyRule<Record<string, unknown>>[]>>({
  ttlMs: RULES_TTL_MS,
});

function cacheKey(tenantId: string, appId: string): string {
  return `${tenantId} ${appId}`;
}

/** What an audit entry shows of a rule. */
const auditedFields = (row: AutoReplyRow) => ({
  app_id: row.scope,
  match: row.match,
  keyword: row.keyword,
  reply: row.reply,
  priority: row.priority,
  active_window: row.activeWindow ?? null,
});

function ofApp(tenantId: string, appId: string) {
  return and(
    eq(autoReplyRules.tenantId, tenantId),
    eq(autoReplyRules.channel, "wechat"),
    eq(autoReplyRules.scope, appId),
  );
}

export async function listAutoReplies(
  env: Env,
  caller: Caller,
  appId: string,
): Promise<AutoReplyRow[]> {
  await getWeChatApp(env, caller, appId);
  return database(env.DB)
    .select()
    .from(autoReplyRules)
    .where(ofApp(caller.tenant.id, appId))
    .orderBy(asc(autoReplyRules.priority), asc(autoReplyRules.id));
}

export async function createAutoReply(
  env: Env,
  caller: Caller,
  appId: string,
  input: {
    match: AutoReplyMatch;
    keyword?: string;
    reply: Record<string, unknown>;
    priority?: number;
    active_window?: ActiveWindow | null;
  },
  now: number = Date.now(),
): Promise<AutoReplyRow> {
  await getWeChatApp(env, caller, appId);
  const keyword = input.keyword?.trim() ?? null;
  const keyed = input.match === "exact" || input.match === "prefix" || input.match === "contains";
  if (keyed && !keyword) {
    throw new ApiError("validation-error", `A ${input.match} rule needs its keyword.`, {
      errors: [{ pointer: "/keyword", detail: "required for exact, prefix and contains" }],
    });
  }
  if (input.reply.type === "query") {
    const endpointId = String(input.reply.endpoint_id);
    await checkQueryEndpoint(env, caller.tenant.id, endpointId, "/reply/endpoint_id");
  }
  const row: AutoReplyRow = {
    id: newId("arr", now),
    tenantId: caller.tenant.id,
    channel: "wechat",
    scope: appId,
    match: input.match,
    keyword: keyed ? keyword : null,
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
  cache.delete(cacheKey(caller.tenant.id, appId));
  return row;
}

export async function deleteAutoReply(
  env: Env,
  caller: Caller,
  appId: string,
  id: string,
): Promise<void> {
  await getWeChatApp(env, caller, appId);
  const db = database(env.DB);
  const mine = and(eq(autoReplyRules.id, id), ofApp(caller.tenant.id, appId));
  const before = await db.select().from(autoReplyRules).where(mine).get();
  if (!before) {
    throw new ApiError("not-found", `No auto-reply rule ${id}.`);
  }
  await unlessLost(
    audited(
      env,
      caller,
      { action: "auto_reply.delete", target: id, diff: diffOf(auditedFields(before), {}) },
      [db.delete(autoReplyRules).where(mine), failUnlessChanged(env)],
    ),
    () => new ApiError("not-found", `No auto-reply rule ${id}.`),
  );
  cache.delete(cacheKey(caller.tenant.id, appId));
}

/**
 * The rules of the app's owner the webhook matches against; another isolate's change applies
 * within 10 s.
 */
export function wechatRules(
  env: Env,
  tenantId: string,
  appId: string,
  now: number = Date.now(),
): Promise<AutoReplyRule<Record<string, unknown>>[]> {
  const key = cacheKey(tenantId, appId);
  const cached = cache.get(key, now);
  if (cached) {
    return cached;
  }
  const rules = database(env.DB)
    .select()
    .from(autoReplyRules)
    .where(ofApp(tenantId, appId))
    // A drizzle query runs again on every `then`: the cache holds its one result, not the query.
    .then((rows) => rows);
  cache.set(key, rules, now);
  rules.catch(() => cache.delete(key, rules));
  return rules;
}

/** What WeChat delivered to the app, newest first. */
export async function listInbox(
  env: Env,
  caller: Caller,
  appId: string,
  page: PageRequest,
): Promise<Page<InboxRow>> {
  await getWeChatApp(env, caller, appId);
  const paging = keyset(wechatInbox.id, page);
  const rows = await database(env.DB)
    .select()
    .from(wechatInbox)
    .where(
      and(eq(wechatInbox.appId, appId), eq(wechatInbox.tenantId, caller.tenant.id), paging.after),
    )
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, page, (row) => row.id);
}
