/**
 * The record of keyword queries (services/webhooks/queries.ts): one row per query asked of a
 * tenant's endpoint, so a tenant sees how its endpoint answers each rule (answered, no_reply,
 * late, failed) and how fast. Recording never fails the reply it describes.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { autoReplyRules, keywordQueries } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import { createLogger } from "../../lib/log";
import { ApiError } from "../../lib/problem";
import type { QueryAnswer } from "./queries";

export type KeywordQueryRow = typeof keywordQueries.$inferSelect;
export type QueryStatus = KeywordQueryRow["status"];

/** What an answer in time (or, with `late`, after the deadline) makes of the query. */
export function statusOf(
  answer: QueryAnswer,
  late = false,
): { status: QueryStatus; reason: string | null } {
  if (!answer.ok) {
    return { status: "failed", reason: answer.reason };
  }
  if (answer.reply === null) {
    return {
      status: "no_reply",
      reason: late ? "answered without a reply, after the passive reply's deadline" : null,
    };
  }
  return late
    ? { status: "late", reason: "answered after the passive reply's deadline: sent as a message" }
    : { status: "answered", reason: null };
}

export async function recordQuery(env: Env, row: KeywordQueryRow): Promise<void> {
  try {
    await database(env.DB).insert(keywordQueries).values(row).onConflictDoNothing();
  } catch (error) {
    createLogger(env.LOG_LEVEL, { tenant_id: row.tenantId }).error("keyword query: not recorded", {
      query_id: row.id,
      error,
    });
  }
}

/** A rule's queries (SMS or WeChat), newest first; another tenant's rule is a 404. */
export async function listRuleQueries(
  env: Env,
  caller: Caller,
  ruleId: string,
  request: PageRequest,
): Promise<Page<KeywordQueryRow>> {
  const rule = await database(env.DB)
    .select({ id: autoReplyRules.id })
    .from(autoReplyRules)
    .where(and(eq(autoReplyRules.id, ruleId), eq(autoReplyRules.tenantId, caller.tenant.id)))
    .get();
  if (!rule) {
    throw new ApiError("not-found", `No auto-reply rule ${ruleId}.`);
  }
  const paging = keyset(keywordQueries.id, request);
  const rows = await database(env.DB)
    .select()
    .from(keywordQueries)
    .where(
      and(
        eq(keywordQueries.tenantId, caller.tenant.id),
        eq(keywordQueries.ruleId, ruleId),
        paging.after,
      ),
    )
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, request, (row) => row.id);
}
