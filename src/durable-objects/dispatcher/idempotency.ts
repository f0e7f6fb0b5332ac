/** The dispatcher's idempotency keys: each replays its first answer for 24 h. */
import type { AcceptedMessage, AcceptRequest, AcceptResult } from "../../delivery/dispatcher-types";
import { firstRow } from "../../lib/sql-rows";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

type Idempotency = NonNullable<AcceptRequest["idempotency"]>;

/** The answer a key already got (a conflict if the request differs), or undefined for a new key. */
export function priorAnswer(
  sql: SqlStorage,
  idempotency: Idempotency,
  now: number,
): AcceptResult | undefined {
  const prior = firstRow(
    sql,
    "SELECT request_hash, response FROM idempotency WHERE key = ? AND expires_at > ?",
    idempotency.key,
    now,
  );
  if (!prior) {
    return undefined;
  }
  return prior.request_hash === idempotency.requestHash
    ? { kind: "replayed", response: JSON.parse(String(prior.response)) }
    : { kind: "idempotency-conflict" };
}

export function rememberAnswer(
  sql: SqlStorage,
  idempotency: Idempotency,
  response: AcceptedMessage,
  now: number,
): void {
  sql.exec(
    "INSERT OR REPLACE INTO idempotency (key, request_hash, response, expires_at) VALUES (?, ?, ?, ?)",
    idempotency.key,
    idempotency.requestHash,
    JSON.stringify(response),
    now + IDEMPOTENCY_TTL_MS,
  );
}

export function forgetExpiredKeys(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
}
