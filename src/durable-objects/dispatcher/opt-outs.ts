/**
 * The dispatcher's copy of the tenant's opted-out numbers, so that a send to one is refused inside
 * the `accept()` call every message makes anyway: no D1 read on the hot path. D1's `opt_outs` is
 * the record (listed, audited); services/inbound/opt-outs.ts tells the dispatcher of every change,
 * an opt-out before its D1 write and an opt-in after it, so that a failure between the two errs
 * towards not sending, and a retry of the change (idempotent) brings both into line.
 */
import { firstRow } from "../../lib/sql-rows";

export function migrateOptOuts(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS opt_outs (phone TEXT PRIMARY KEY)");
}

export function isOptedOut(sql: SqlStorage, phone: string): boolean {
  return firstRow(sql, "SELECT 1 AS found FROM opt_outs WHERE phone = ?", phone) !== undefined;
}

/** The numbers of `phones` that opted out (each looked up by its key). */
export function optedOutOf(sql: SqlStorage, phones: readonly string[]): string[] {
  return [...new Set(phones)].filter((phone) => isOptedOut(sql, phone));
}

export function setOptedOut(sql: SqlStorage, phone: string, optedOut: boolean): void {
  if (optedOut) {
    sql.exec("INSERT OR IGNORE INTO opt_outs (phone) VALUES (?)", phone);
  } else {
    sql.exec("DELETE FROM opt_outs WHERE phone = ?", phone);
  }
}
