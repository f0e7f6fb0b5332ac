/**
 * The dispatcher's `meta` table: a few named values (tenant, send rate, token bucket, virtual
 * clock, next receipt sweep). The dispatcher is their only writer, so most are kept in memory once
 * read. `sql` is passed to every call rather than kept, so that the storage used is always the
 * instance's current one.
 */
import type { BucketState } from "../domain/token-bucket";
import { firstRow } from "./sql-rows";

function getMeta(sql: SqlStorage, key: string): string | undefined {
  const row = firstRow(sql, "SELECT value FROM meta WHERE key = ?", key);
  return row ? String(row.value) : undefined;
}

function setMeta(sql: SqlStorage, key: string, value: string): void {
  sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
}

export class DispatcherMeta {
  /** In-memory copies of what is also in `meta`, read once per instance. */
  private tenant: string | undefined;
  private rate: number | undefined;
  private virtualClock: number | undefined;
  private sweepAt: number | null | undefined;

  /** The tenant this dispatcher serves, once any call has named it. */
  tenantId(sql: SqlStorage): string | undefined {
    return this.tenant ?? getMeta(sql, "tenant_id");
  }

  rememberTenant(sql: SqlStorage, tenantId: string): void {
    if (this.tenant === tenantId) {
      return;
    }
    this.tenant = tenantId;
    if (getMeta(sql, "tenant_id") !== tenantId) {
      setMeta(sql, "tenant_id", tenantId);
    }
  }

  setSendRate(sql: SqlStorage, sendRate: number): void {
    this.rate = sendRate;
    setMeta(sql, "send_rate", String(sendRate));
  }

  /** The send rate from `meta`, or from the tenant's row the first time. */
  async sendRate(sql: SqlStorage, db: D1Database): Promise<number> {
    if (this.rate !== undefined) {
      return this.rate;
    }
    const stored = getMeta(sql, "send_rate");
    if (stored !== undefined) {
      this.rate = Number(stored);
      return this.rate;
    }
    const tenantId = this.tenantId(sql);
    const row = tenantId
      ? await db
          .prepare("SELECT send_rate FROM tenants WHERE id = ?")
          .bind(tenantId)
          .first<{ send_rate: number }>()
      : null;
    this.rate = row?.send_rate ?? 0;
    setMeta(sql, "send_rate", String(this.rate));
    return this.rate;
  }

  bucket(sql: SqlStorage): BucketState | undefined {
    const stored = getMeta(sql, "bucket");
    return stored ? (JSON.parse(stored) as BucketState) : undefined;
  }

  setBucket(sql: SqlStorage, state: BucketState): void {
    setMeta(sql, "bucket", JSON.stringify(state));
  }

  /** The fair-queuing tag last released (see releases.ts). */
  virtualNow(sql: SqlStorage): number {
    this.virtualClock ??= Number(getMeta(sql, "virtual_clock") ?? "0");
    return this.virtualClock;
  }

  advanceVirtualClock(sql: SqlStorage, tag: number): void {
    this.virtualClock = tag;
    setMeta(sql, "virtual_clock", String(tag));
  }

  /** When the next sent message's receipt falls due, or null when none is waiting. */
  nextSweep(sql: SqlStorage): number | null {
    if (this.sweepAt === undefined) {
      const stored = getMeta(sql, "next_sweep");
      this.sweepAt = stored ? Number(stored) : null;
    }
    return this.sweepAt;
  }

  setNextSweep(sql: SqlStorage, at: number | null): void {
    this.sweepAt = at;
    if (at === null) {
      sql.exec("DELETE FROM meta WHERE key = 'next_sweep'");
    } else {
      setMeta(sql, "next_sweep", String(at));
    }
  }
}
