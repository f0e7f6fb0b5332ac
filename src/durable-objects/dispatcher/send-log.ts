/** The dispatcher's writes to and reads from the D1 send log, in batches. */
import {
  type BatchRecord,
  initialStatus,
  type OutboxMessage,
} from "../../delivery/dispatcher-types";
import { CANCELED_REASON } from "../../delivery/status-writer";

// Each row travels as one JSON array inside a single bound parameter, and json_each unpacks it:
// D1 binds at most 100 parameters per statement, which would allow only a handful of rows of
// this width, while a parameter may hold up to 2 MB. The columns, in the arrays' order:
const COLUMNS = [
  "id",
  "tenant_id",
  "channel",
  "recipient",
  "sender",
  "body",
  "metadata",
  "mode",
  "status",
  "status_reason",
  "segments",
  "encoding",
  "idempotency_key",
  "batch_id",
  "template_id",
  "template_version",
  "template_params",
  "payload",
  "kind",
  "cost_micros",
  "created_at",
  "send_at",
  "updated_at",
  "completed_at",
  "country",
  "sign_name",
  "currency",
] as const;
/** Characters of JSON per statement: well under D1's 2 MB per value. */
const JSON_PER_STATEMENT = 512 * 1024;

const INSERT_FROM_JSON = `INSERT OR IGNORE INTO messages (${COLUMNS.join(", ")})
  SELECT ${COLUMNS.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")}
  FROM json_each(?)`;

function rowOf(m: OutboxMessage, canceled: boolean, now: number): unknown[] {
  return [
    m.id,
    m.tenantId,
    m.channel,
    m.recipient,
    m.sender,
    m.body,
    m.metadata ? JSON.stringify(m.metadata) : null,
    m.mode,
    canceled ? "canceled" : initialStatus(m),
    canceled ? CANCELED_REASON : null,
    m.segments,
    m.encoding,
    m.idempotencyKey,
    m.batchId,
    m.templateId,
    m.templateVersion,
    m.templateParams ? JSON.stringify(m.templateParams) : null,
    m.payload,
    m.kind,
    m.costMicros,
    m.createdAt,
    m.sendAt,
    canceled ? now : m.createdAt,
    canceled ? now : null,
    m.country ?? null,
    m.signName ?? null,
    m.currency ?? null,
  ];
}

/**
 * Writes accepted messages to the send log, hundreds of rows per statement, all in one batch;
 * those in `canceled` are written as canceled.
 */
export async function logMessages(
  db: D1Database,
  messages: OutboxMessage[],
  now = Date.now(),
  canceled: ReadonlySet<string> = new Set(),
): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  let chunk: string[] = [];
  let size = 0;
  const flush = () => {
    if (chunk.length > 0) {
      statements.push(db.prepare(INSERT_FROM_JSON).bind(`[${chunk.join(",")}]`));
      chunk = [];
      size = 0;
    }
  };
  for (const message of messages) {
    const json = JSON.stringify(rowOf(message, canceled.has(message.id), now));
    if (size + json.length > JSON_PER_STATEMENT) {
      flush();
    }
    chunk.push(json);
    size += json.length + 1;
  }
  flush();
  if (statements.length > 0) {
    await db.batch(statements);
  }
}

/** Writes committed batches' records; a cancel that reaches D1 later is kept. */
export async function logBatches(db: D1Database, records: BatchRecord[]): Promise<void> {
  await db.batch(
    records.map((r) =>
      db
        .prepare(
          `INSERT INTO batches (id, tenant_id, template_id, template_version, kind, mode, accepted,
             rejected, send_at, created_at, canceled_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET
             canceled_at = COALESCE(batches.canceled_at, excluded.canceled_at)`,
        )
        .bind(
          r.id,
          r.tenantId,
          r.templateId,
          r.templateVersion,
          r.kind,
          r.mode,
          r.accepted,
          r.rejected,
          r.sendAt,
          r.createdAt,
          r.canceledAt,
        ),
    ),
  );
}

export async function markBatchCanceled(
  db: D1Database,
  tenantId: string,
  batchId: string,
  now: number,
): Promise<void> {
  await db
    .prepare(
      "UPDATE batches SET canceled_at = COALESCE(canceled_at, ?) WHERE id = ? AND tenant_id = ?",
    )
    .bind(now, batchId, tenantId)
    .run();
}

export interface LoggedState {
  status: string;
  updatedAt: number;
  /** When its send was recorded: `sent` without one is a fallback SMS waiting to go. */
  sentAt: number | null;
  /** Who holds it: SMS_FALLBACK_CLAIM while its SMS waits for this dispatcher's release. */
  claimId: string | null;
}

/** Status and last change by id; D1 allows at most 100 bound parameters per query. */
export async function readStates(db: D1Database, ids: string[]): Promise<Map<string, LoggedState>> {
  const states = new Map<string, LoggedState>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const placeholders = chunk.map(() => "?").join(",");
    const { results } = await db
      .prepare(
        `SELECT id, status, updated_at, sent_at, claim_id FROM messages WHERE id IN (${placeholders})`,
      )
      .bind(...chunk)
      .all<{
        id: string;
        status: string;
        updated_at: number;
        sent_at: number | null;
        claim_id: string | null;
      }>();
    for (const row of results) {
      states.set(row.id, {
        status: row.status,
        updatedAt: row.updated_at,
        sentAt: row.sent_at,
        claimId: row.claim_id,
      });
    }
  }
  return states;
}
