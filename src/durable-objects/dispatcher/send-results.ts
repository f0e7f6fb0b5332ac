/**
 * What comes back to the TenantDispatcher after a release (see tenant-dispatcher.ts): the
 * consumers' send results, which retire messages and free their recipients' next ones; the
 * outcomes a consumer could not write to D1, kept here until D1 takes them; and a message's SMS
 * fallback, taken back into the outbox to be released like any message, whether a consumer
 * hands it back (WeChat refused it at send time) or a WeChatAccount asks for it (its template
 * message ended undelivered).
 */
import { settingsOf } from "../../config/settings";
import {
  type FallbackRequest,
  outboxMessageOfLogged,
  type SendResult,
} from "../../delivery/dispatcher-types";
import { fallBackToSms, type OutcomeRecord } from "../../delivery/status-writer";
import { keptOutcomesRetryAt, storeOutcomes } from "./kept-outcomes";
import type { DispatcherMeta } from "./meta";
import { deleteMessages, takeBackLogged } from "./outbox-queries";
import { logsOf, noteLoggedTo } from "./partitions";

/**
 * Retires the released messages whose results are in (one statement for a whole report), takes
 * back the SMS fallbacks handed over with them, and has the receipt sweep due by the deadline of
 * what was sent.
 */
export function takeResults(
  sql: SqlStorage,
  meta: DispatcherMeta,
  env: Env,
  results: readonly SendResult[],
  now: number,
): void {
  const done: string[] = [];
  for (const result of results) {
    if (result.outcome === "sms-fallback") {
      meta.rememberTenant(sql, result.message.tenantId);
      takeBackLogged(sql, meta, { ...result.message, sendAt: now });
    } else {
      done.push(result.id);
    }
  }
  deleteMessages(sql, done);
  if (results.some((result) => result.outcome === "sent")) {
    meta.expectReceiptBy(sql, now + settingsOf(env).RECEIPT_DEADLINE_SECONDS * 1000);
  }
}

/** Keeps outcomes D1 did not take; returns when the alarm should try writing them. */
export function keepForD1(
  sql: SqlStorage,
  records: readonly OutcomeRecord[],
  now: number,
  sendLog?: string,
): number {
  storeOutcomes(sql, records, now, sendLog);
  return keptOutcomesRetryAt(sql, now) ?? now;
}

/**
 * Switches a template message WeChat reported undelivered to its SMS fallback in the send log
 * (the status writer's `fallBackToSms`) and takes it back into the outbox, once however often it
 * is asked. Returns whether it waits for its SMS.
 */
export async function takeBackUndelivered(
  sql: SqlStorage,
  meta: DispatcherMeta,
  env: Env,
  request: FallbackRequest,
  now: number,
): Promise<boolean> {
  meta.rememberTenant(sql, request.tenantId);
  // On whichever of the tenant's partitions holds the message, which its release then names.
  for (const db of await logsOf(env, request.tenantId)) {
    const waiting = await fallBackToSms(db, request, request.fallback, request.reason, now);
    if (waiting) {
      takeBackLogged(sql, meta, outboxMessageOfLogged(waiting, now));
      noteLoggedTo(sql, env, [waiting.id], db);
      return true;
    }
  }
  return false;
}
