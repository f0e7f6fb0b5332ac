/**
 * Carries out the work a WeChatAccount recorded with its deliveries (inbound.ts): inbox
 * rows and follower changes copied to D1, template results applied to their messages. One copy
 * runs at a time; whatever D1 did not take is left in the object's storage and tried again from
 * its alarm, sooner after a blip and less often in a long outage, until D1 takes it. No later
 * delivery is needed, so a quiet account's follow still reaches D1.
 */
import { placementOf, tenantSendLogs } from "../../db/send-log-partitions";
import { dispatcherOf } from "../../delivery/dispatcher";
import {
  SENT_MESSAGE_SQL,
  type SentMessageRow,
  sentMessageOf,
} from "../../delivery/message-events";
import { applyReceipts, holdReceipts, type ReceiptToApply } from "../../delivery/status-writer";
import { fallbackOf } from "../../domain/wechat-payload";
import { createLogger } from "../../lib/log";
import { flushInbox } from "./inbound";

/**
 * How long a template result waits for the consumer to record its send. The consumer records it
 * right after WeChat's answer, so minutes cover a slow D1; a msgid still unknown then was most
 * likely sent by other software on the same account. Its D1 hold outlives this (a day).
 */
const WAIT_FOR_SEND_MS = 15 * 60_000;
/** Tries again after half the age of the oldest pending work, within these bounds. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export interface InboundCopierIO {
  now: () => number;
  /** Sets the object's alarm for `at` unless it is set earlier. */
  alarmNoLaterThan: (at: number) => Promise<void>;
}

export class InboundCopier {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly io: InboundCopierIO,
  ) {}

  /**
   * Copies the pending work. Two copies of the same rows running at once could apply a follow
   * after the unfollow that came later, so a call while one runs joins it, and work recorded
   * meanwhile gets another round. Never throws; what is left is tried again by the alarm.
   */
  copy(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Waits for a copy at most `ms` (the copy goes on either way). */
  async copyWithin(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    try {
      await Promise.race([this.copy(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    try {
      let pass: { failed: boolean; retryAt: number | null };
      do {
        this.again = false;
        pass = await this.copyOnce(this.io.now());
      } while (this.again && !pass.failed);
      if (pass.retryAt !== null) {
        await this.io.alarmNoLaterThan(pass.retryAt);
      }
    } catch (error) {
      createLogger(this.env.LOG_LEVEL).error("wechat: inbound work not copied", { error });
    }
  }

  /**
   * One pass over the pending work: whether D1 failed, and when to try again if anything is left
   * (after a failure, or a template result waiting for its send), else null.
   */
  private async copyOnce(now: number): Promise<{ failed: boolean; retryAt: number | null }> {
    let failed = false;
    try {
      await flushInbox(this.sql, this.env, now);
    } catch (error) {
      failed = true;
      createLogger(this.env.LOG_LEVEL).error("wechat: inbox not copied to D1 yet", { error });
    }
    try {
      await this.settleTemplateResults(now);
    } catch (error) {
      failed = true;
      createLogger(this.env.LOG_LEVEL).error("wechat: template results not applied yet", { error });
    }
    const oldest = this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (
           SELECT json_extract(row, '$.receivedAt') AS at FROM inbound_pending
           UNION ALL SELECT received_at FROM template_results_pending)`,
      )
      .one().at;
    if (oldest === null) {
      return { failed, retryAt: null };
    }
    // Soon after a blip, seldom in a long outage: after half the age of the oldest pending work.
    const delay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, (now - oldest) / 2));
    return { failed, retryAt: now + delay };
  }

  /**
   * Applies pending template results to their messages. A result whose send is not recorded yet
   * is held in D1 too, where the consumer's record of the send applies it, and is tried again
   * here until its message is found or WAIT_FOR_SEND_MS has passed. Those tries are what starts
   * an `auto` message's SMS fallback, which the record of the send leaves alone (the status
   * writer's held receipts), and they cover a send recorded between our look-up and our hold.
   */
  private async settleTemplateResults(now: number): Promise<void> {
    const pending = this.sql
      .exec<{ msg_id: string; tenant_id: string; status: string; received_at: number }>(
        "SELECT msg_id, tenant_id, status, received_at FROM template_results_pending ORDER BY rowid",
      )
      .toArray();
    const byTenant = new Map<string, typeof pending>();
    for (const result of pending) {
      byTenant.set(result.tenant_id, [...(byTenant.get(result.tenant_id) ?? []), result]);
    }
    for (const [tenantId, results] of byTenant) {
      const found = await applyTemplateJobResults(
        this.env,
        tenantId,
        results.map((r) => ({ msgId: r.msg_id, status: r.status })),
        now,
      );
      for (const result of results) {
        const gaveUp = !found.has(result.msg_id) && now - result.received_at > WAIT_FOR_SEND_MS;
        if (gaveUp) {
          createLogger(this.env.LOG_LEVEL).warn(
            "wechat: a template result for a msgid never recorded",
            {
              msg_id: result.msg_id,
            },
          );
        }
        if (found.has(result.msg_id) || gaveUp) {
          this.sql.exec("DELETE FROM template_results_pending WHERE msg_id = ?", result.msg_id);
        }
      }
    }
  }
}

/**
 * Template messages' job-finish results for one tenant: `success` makes a message delivered; a
 * failure ("failed:user block", "failed: system failed") makes it undelivered with that reason,
 * or, for a `channel: "auto"` message, hands it to the tenant's dispatcher, which sends its SMS
 * fallback like any other message. A result whose send is not recorded yet (WeChat's event can
 * beat the consumer's write) is held in D1 and applied in the batch that records the send
 * (delivery/status-writer `recordAttempts`). Safe to run again: statuses only move forward, and
 * the dispatcher takes a fallback once. Returns the msgids whose message was found.
 */
async function applyTemplateJobResults(
  env: Env,
  tenantId: string,
  results: readonly { msgId: string; status: string }[],
  now: number,
): Promise<Set<string>> {
  type Found = SentMessageRow & { payload: string | null };
  const messages = new Map<string, Found>();
  // The send-log partition holding each message (db/send-log-partitions).
  const holding = new Map<string, D1Database>();
  const logs = tenantSendLogs(env, await placementOf(env, tenantId));
  const msgIds = results.map((r) => r.msgId);
  for (const log of logs) {
    // D1 binds at most 100 parameters per query.
    for (let i = 0; i < msgIds.length; i += 90) {
      const chunk = msgIds.slice(i, i + 90);
      const { results: rows } = await log
        .prepare(
          `SELECT ${SENT_MESSAGE_SQL}, payload FROM messages
           WHERE tenant_id = ? AND provider = 'wechat'
             AND provider_message_id IN (${chunk.map(() => "?").join(", ")})`,
        )
        .bind(tenantId, ...chunk)
        .all<Found>();
      for (const row of rows) {
        messages.set(row.provider_message_id ?? "", row);
        holding.set(row.provider_message_id ?? "", log);
      }
    }
  }
  // Held on each of the tenant's partitions: the send is recorded on one of them, which applies it.
  for (const log of logs) {
    await holdReceipts(
      env,
      log,
      { tenantId, provider: "wechat" },
      results
        .filter((r) => !messages.has(r.msgId))
        .map((r) => {
          const { status, reason } = receiptOf(r.status);
          return { providerMessageId: r.msgId, status, reason: reason ?? undefined };
        }),
      now,
    );
  }
  const receipts = new Map<D1Database, ReceiptToApply[]>();
  for (const { msgId, status } of results) {
    const message = messages.get(msgId);
    const log = holding.get(msgId);
    if (!message || !log) {
      continue;
    }
    const fallback = fallbackOf({ payload: message.payload ? JSON.parse(message.payload) : null });
    if (status !== "success" && fallback) {
      await dispatcherOf(env, tenantId).fallBackToSms({
        id: message.id,
        tenantId,
        fallback,
        reason: status,
      });
    } else {
      receipts.set(log, [
        ...(receipts.get(log) ?? []),
        { message: sentMessageOf(message), providerMessageId: msgId, ...receiptOf(status) },
      ]);
    }
  }
  for (const [log, list] of receipts) {
    await applyReceipts(env, log, { tenantId, provider: "wechat" }, list, now);
  }
  return new Set(messages.keys());
}

/** What a job-finish status ("success", "failed:user block", ...) makes of its message. */
function receiptOf(status: string): {
  status: "delivered" | "undelivered";
  reason: string | null;
} {
  return status === "success"
    ? { status: "delivered", reason: null }
    : { status: "undelivered", reason: `WeChat: ${status}` };
}
