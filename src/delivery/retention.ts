/**
 * Retention enforced on one tenant's send log and inbound messages, one bounded round at a time
 * (at most `batch` rows of each kind): bodies past `bodies_days` are redacted (the row stays, its
 * text reads `[redacted]`, its template variables and WeChat payload are cleared), messages past
 * `messages_days` are deleted with their attempts, inbound messages past `inbound_days` deleted,
 * and the record of keyword queries (keyword_queries) past `messages_days` deleted: it is part of
 * the send log (who asked what of the tenant's endpoint, when).
 * Only messages in a final status are touched: one still on its way needs its body and its row.
 * Rollups and the audit log are other tables and are kept.
 *
 * The service desk's copies of message text follow the same rules: web chat messages to visitors
 * (webchat_messages, the web chat's send log) are redacted past `bodies_days` and deleted past
 * `messages_days` (a visitor's own messages are inbound messages, above); an internal note's text
 * (conversation_events, `type = 'note'`) is redacted past `bodies_days`, since notes quote the
 * customer; a conversation's preview of its last message (`last_message.body`) is redacted once
 * that message's text is due by `bodies_days` or `inbound_days`, whichever comes first. The desk's
 * state moves, satisfaction digits and inspections hold no message text and are kept: like the
 * rollups, they are what the desk reports are made of.
 *
 * Two callers drive the rounds: the cron trigger in production (services/messaging/retention) and
 * the tenant's dispatcher alarm, which is what runs under `wrangler dev` (cron never fires there).
 * A round is idempotent: running it twice, or from both at once, removes nothing that is not due.
 */
import { FINAL_STATUSES, statusIn } from "../db/message-log";
import { REDACTED_BODY, type Retention, retentionCutoffs, retentionOf } from "../domain/retention";
import { firstIdAt } from "../lib/ids";

/** Rows of each kind one round touches at most: a D1 batch that stays well inside its limits. */
export const RETENTION_BATCH = 500;

export interface RetentionRound {
  redacted: number;
  /** Webhook deliveries whose payload lost a message's text. */
  deliveriesRedacted: number;
  deleted: number;
  inboundDeleted: number;
  /** Keyword query records deleted (past `messages_days`). */
  queriesDeleted: number;
  /** Web chat messages to visitors whose body was redacted (past `bodies_days`). */
  webchatRedacted: number;
  /** Web chat messages to visitors deleted (past `messages_days`). */
  webchatDeleted: number;
  /** Internal notes whose text was redacted (past `bodies_days`). */
  notesRedacted: number;
  /** Conversations whose last message preview was redacted. */
  previewsRedacted: number;
  /** A kind filled its batch: another round may find more due. */
  more: boolean;
}

const FINAL = statusIn(FINAL_STATUSES);

/** Final messages of the tenant made before the cutoff (by id, then exactly by time). */
const DUE_MESSAGES = `SELECT id FROM messages
  WHERE tenant_id = ?1 AND id < ?2 AND created_at < ?3 AND ${FINAL}`;

/** The tenant's retention as its row stores it; undefined for a tenant that is gone. */
export async function retentionOfTenant(
  d1: D1Database,
  tenantId: string,
): Promise<Retention | undefined> {
  const row = await d1
    .prepare("SELECT retention FROM tenants WHERE id = ?")
    .bind(tenantId)
    .first<{ retention: string | null }>();
  return row
    ? retentionOf(row.retention ? (JSON.parse(row.retention) as Retention) : null)
    : undefined;
}

/**
 * One bounded round of retention for the tenant at `now`: the send log's rows on each of
 * `sendLogs` (the tenant's partitions, db/send-log-partitions; `d1` alone by default), the rest
 * on `d1`, the main database, in the same batch as the partition that is `d1` itself.
 */
export async function enforceRetention(
  d1: D1Database,
  tenantId: string,
  retention: Retention,
  now: number,
  batch = RETENTION_BATCH,
  sendLogs: readonly D1Database[] = [d1],
): Promise<RetentionRound> {
  const cutoff = retentionCutoffs(retention, now);
  const bodies = [tenantId, firstIdAt("msg", cutoff.bodies), cutoff.bodies] as const;
  const old = [tenantId, firstIdAt("msg", cutoff.messages), cutoff.messages] as const;
  // A text that is inbound or a body is due at the earlier of the two (the later cutoff).
  const deliveryCutoff = Math.max(cutoff.inbound, cutoff.bodies);
  const wcmOld = [tenantId, firstIdAt("wcm", cutoff.messages), cutoff.messages] as const;
  const wcmBodies = [tenantId, firstIdAt("wcm", cutoff.bodies), cutoff.bodies] as const;
  // The send log's four statements: attempts, messages deleted, bodies redacted, deliveries.
  const sendLogStatements = (log: D1Database) => [
    log
      .prepare(
        `DELETE FROM message_attempts
         WHERE message_id IN (${DUE_MESSAGES} ORDER BY id LIMIT ?4)`,
      )
      .bind(...old, batch),
    log
      .prepare(`DELETE FROM messages WHERE id IN (${DUE_MESSAGES} ORDER BY id LIMIT ?4)`)
      .bind(...old, batch),
    // After the deletes, so a body is not redacted in the round that deletes its message.
    // Newest due first: the rows just past the cutoff are the ones a previous round left.
    log
      .prepare(
        `UPDATE messages SET body = ?5, template_params = NULL, payload = NULL
         WHERE id IN (${DUE_MESSAGES} AND body <> ?5 ORDER BY id DESC LIMIT ?4)`,
      )
      .bind(...bodies, batch, REDACTED_BODY),
    // Walks the partial index of the payloads that still carry text (migration 0031).
    log
      .prepare(
        // The index's own condition word for word (a bound value would not match it).
        `UPDATE webhook_deliveries SET payload = json_replace(payload, '$.data.body', ?4)
         WHERE id IN (SELECT id FROM webhook_deliveries
           WHERE tenant_id = ?1 AND id < ?2 AND created_at < ?3
             AND event_type = 'inbound.received' AND payload ->> '$.data.body' <> '[redacted]'
           ORDER BY id LIMIT ?5)`,
      )
      .bind(tenantId, firstIdAt("whd", deliveryCutoff), deliveryCutoff, REDACTED_BODY, batch),
  ];
  const onMain = sendLogs.includes(d1);
  const onMainStatements = onMain ? sendLogStatements(d1) : [];
  const results = await d1.batch([
    ...onMainStatements,
    d1
      .prepare(
        `DELETE FROM inbound_messages WHERE id IN (SELECT id FROM inbound_messages
           WHERE tenant_id = ?1 AND id < ?2 AND received_at < ?3 ORDER BY id LIMIT ?4)`,
      )
      .bind(tenantId, firstIdAt("inb", cutoff.inbound), cutoff.inbound, batch),
    // A query's id carries the time its message came, never after it was asked: the id bound
    // seeks on the tenant's index (migration 0039), the time decides.
    d1
      .prepare(
        `DELETE FROM keyword_queries WHERE id IN (SELECT id FROM keyword_queries
           WHERE tenant_id = ?1 AND id < ?2 AND asked_at < ?3 ORDER BY id LIMIT ?4)`,
      )
      .bind(tenantId, firstIdAt("qry", cutoff.messages), cutoff.messages, batch),
    d1
      .prepare(
        `DELETE FROM webchat_messages WHERE id IN (SELECT id FROM webchat_messages
           WHERE tenant_id = ?1 AND id < ?2 AND created_at < ?3 ORDER BY id LIMIT ?4)`,
      )
      .bind(...wcmOld, batch),
    // After the delete, as for messages; newest due first.
    d1
      .prepare(
        `UPDATE webchat_messages SET body = ?5 WHERE id IN (SELECT id FROM webchat_messages
           WHERE tenant_id = ?1 AND id < ?2 AND created_at < ?3 AND body <> ?5
           ORDER BY id DESC LIMIT ?4)`,
      )
      .bind(...wcmBodies, batch, REDACTED_BODY),
    // Walks the partial index of the notes that still carry text (migration 0041), whose
    // condition it repeats word for word.
    d1
      .prepare(
        `UPDATE conversation_events SET detail = json_set(detail, '$.body', ?3)
         WHERE id IN (SELECT id FROM conversation_events
           WHERE tenant_id = ?1 AND at < ?2
             AND type = 'note' AND detail ->> '$.body' <> '[redacted]'
           ORDER BY at LIMIT ?4)`,
      )
      .bind(tenantId, cutoff.bodies, REDACTED_BODY, batch),
    // The preview's message was the conversation's last activity: it is at most that old.
    d1
      .prepare(
        `UPDATE conversations SET last_message = json_set(last_message, '$.body', ?3)
         WHERE id IN (SELECT id FROM conversations
           WHERE tenant_id = ?1 AND last_activity_at < ?2
             AND last_message ->> '$.body' <> ?3
           ORDER BY last_activity_at DESC LIMIT ?4)`,
      )
      .bind(tenantId, deliveryCutoff, REDACTED_BODY, batch),
  ]);
  const [, deleted, redacted, deliveries] = onMain ? results : [];
  const [inbound, queries, webchatDeleted, webchatRedacted, notes, previews] = results.slice(
    onMainStatements.length,
  );
  const changes = (result: D1Result | undefined) => result?.meta.changes ?? 0;
  let sendLogCounts = onMain
    ? { deleted: changes(deleted), redacted: changes(redacted), deliveries: changes(deliveries) }
    : { deleted: 0, redacted: 0, deliveries: 0 };
  for (const log of sendLogs) {
    if (log !== d1) {
      const [, gone, masked, delivered] = await log.batch(sendLogStatements(log));
      sendLogCounts = {
        deleted: sendLogCounts.deleted + changes(gone),
        redacted: sendLogCounts.redacted + changes(masked),
        deliveries: sendLogCounts.deliveries + changes(delivered),
      };
    }
  }
  const round = {
    redacted: sendLogCounts.redacted,
    deleted: sendLogCounts.deleted,
    inboundDeleted: changes(inbound),
    deliveriesRedacted: sendLogCounts.deliveries,
    queriesDeleted: changes(queries),
    webchatRedacted: changes(webchatRedacted),
    webchatDeleted: changes(webchatDeleted),
    notesRedacted: changes(notes),
    previewsRedacted: changes(previews),
  };
  return { ...round, more: Object.values(round).some((count) => count >= batch) };
}
