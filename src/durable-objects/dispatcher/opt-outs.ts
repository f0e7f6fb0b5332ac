/**
 * The dispatcher's copy of the tenant's opted-out numbers, so that a send to one is refused inside
 * the `accept()` call every message makes anyway: no D1 read on the hot path. D1's `opt_outs` is
 * the record (listed, audited); services/inbound/opt-outs.ts tells the dispatcher of every change,
 * an opt-out before its D1 write and an opt-in after it, so that a failure between the two errs
 * towards not sending, and a retry of the change (idempotent) brings both into line.
 * An instance remembers whether the tenant has any opted-out number at all, so that a tenant
 * without one (most) pays no statement per message.
 */
import { allRows, firstRow } from "../../lib/sql-rows";

export function migrateOptOuts(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS opt_outs (phone TEXT PRIMARY KEY)");
}

export class OptOutCopy {
  /** Whether the table has any row; unknown until first asked, forgotten on every change. */
  private any: boolean | undefined;

  private hasAny(sql: SqlStorage): boolean {
    if (this.any === undefined) {
      this.any = firstRow(sql, "SELECT 1 AS found FROM opt_outs LIMIT 1") !== undefined;
    }
    return this.any;
  }

  isOptedOut(sql: SqlStorage, phone: string): boolean {
    return (
      this.hasAny(sql) &&
      firstRow(sql, "SELECT 1 AS found FROM opt_outs WHERE phone = ?", phone) !== undefined
    );
  }

  /** The numbers of `phones` that opted out, in one statement. */
  optedOutOf(sql: SqlStorage, phones: readonly string[]): Set<string> {
    if (phones.length === 0 || !this.hasAny(sql)) {
      return new Set();
    }
    const rows = allRows(
      sql,
      "SELECT phone FROM opt_outs WHERE phone IN (SELECT value FROM json_each(?))",
      JSON.stringify([...new Set(phones)]),
    );
    return new Set(rows.map((row) => String(row.phone)));
  }

  clear(sql: SqlStorage): void {
    sql.exec("DELETE FROM opt_outs");
    this.any = undefined;
  }

  set(sql: SqlStorage, phone: string, optedOut: boolean): void {
    if (optedOut) {
      sql.exec("INSERT OR IGNORE INTO opt_outs (phone) VALUES (?)", phone);
      this.any = true;
    } else {
      sql.exec("DELETE FROM opt_outs WHERE phone = ?", phone);
      this.any = undefined;
    }
  }
}
