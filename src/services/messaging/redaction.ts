/**
 * Redacting one message's body on request (a person's erasure request, PIPL/GDPR style): the text
 * becomes `[redacted]`, its template variables and WeChat payload are cleared, the row and its
 * figures stay. Audited without the text itself. Only a message in a final status: one still on
 * its way needs its body to be sent (and a retry or failover to send it again), so that is a 409;
 * cancel it first, or wait for it to end.
 */
import { and, eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { FINAL_STATUSES, type MessageRow } from "../../db/message-log";
import { messages } from "../../db/schema";
import { tenantSendLogs } from "../../db/send-log-partitions";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { REDACTED_BODY } from "../../domain/retention";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getMessage } from "./message-reads";

export async function redactMessageBody(env: Env, caller: Caller, id: string): Promise<MessageRow> {
  // A 404 for another tenant's message, or another mode's, as reading it would be.
  const { message } = await getMessage(env, caller, id);
  if (!FINAL_STATUSES.includes(message.status)) {
    throw new ApiError(
      "conflict",
      `Message ${id} is ${message.status}: its body is needed until it has been sent and reached a final status. Cancel it, or redact it once it has ended.`,
    );
  }
  const change = { body: REDACTED_BODY, templateParams: null, payload: null };
  const mine = and(
    eq(messages.id, id),
    eq(messages.tenantId, caller.tenant.id),
    inArray(messages.status, [...FINAL_STATUSES]),
  );
  const event = {
    action: "message.body_redact",
    target: id,
    diff: diffOf({ body: message.body }, { body: REDACTED_BODY }, ["body"]),
  };
  // On the send-log partition holding it (db/send-log-partitions). On the main one, the change
  // and its audit entry are one batch; on another, the change first, then the entry (a failed
  // entry leaves it redacted and unrecorded; asking again records it, changing nothing more).
  let holding: D1Database | undefined;
  for (const log of tenantSendLogs(env, caller.tenant)) {
    const found = await log
      .prepare("SELECT 1 FROM messages WHERE id = ? AND tenant_id = ?")
      .bind(id, caller.tenant.id)
      .first();
    if (found) {
      holding = log;
      break;
    }
  }
  if (holding === env.DB) {
    const [rows] = await audited(env, caller, event, [
      database(env.DB).update(messages).set(change).where(mine).returning(),
    ]);
    if (rows[0]) {
      return rows[0];
    }
  } else if (holding) {
    const [row] = await database(holding).update(messages).set(change).where(mine).returning();
    if (row) {
      await audited(env, caller, event, []);
      return row;
    }
  }
  // Canceled in the dispatcher's outbox, and not written to the send log yet.
  throw new ApiError(
    "conflict",
    `Message ${id} is not in the send log yet; try again in a moment.`,
  );
}
