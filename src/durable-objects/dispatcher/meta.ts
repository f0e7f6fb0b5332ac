/**
 * The dispatcher's `meta` table: a few named values (tenant, settings version, send rate, quiet
 * hours, suspension, token bucket, virtual clock, next receipt sweep). The dispatcher is their only writer, so most are kept in
 * memory once read. `sql` is passed to every call rather than kept, so that the storage used is
 * always the instance's current one.
 */
import { isClockTime, type QuietHours } from "../../domain/quiet-hours";
import type { BucketState } from "../../domain/token-bucket";
import { firstRow } from "../../lib/sql-rows";

const MINUTE_MS = 60_000;

function getMeta(sql: SqlStorage, key: string): string | undefined {
  const row = firstRow(sql, "SELECT value FROM meta WHERE key = ?", key);
  return row ? String(row.value) : undefined;
}

function setMeta(sql: SqlStorage, key: string, value: string): void {
  sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
}

/** The tenants row's `quiet_hours` (JSON text), or meta's copy of it; null when off or malformed. */
function parseQuietHours(text: string | null | undefined): QuietHours | null {
  let value: unknown = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) {
    return null;
  }
  const { start, end } = value as Record<string, unknown>;
  return typeof start === "string" &&
    typeof end === "string" &&
    isClockTime(start) &&
    isClockTime(end)
    ? { start, end }
    : null;
}

export class DispatcherMeta {
  /** In-memory copies of what is also in `meta`, read once per instance. */
  private tenant: string | undefined;
  private shardIndex: number | undefined;
  private rate: number | undefined;
  private quiet: QuietHours | null | undefined;
  private suspension: boolean | undefined;
  private version: number | undefined;
  private virtualClock: number | undefined;
  /** The release token bucket; null when none is stored yet. */
  private tokens: BucketState | null | undefined;
  private sweepAt: number | null | undefined;
  private retention: { at: number; continuing: boolean } | null | undefined;
  /** When the release path next looks at quiet hours; memory only, so a new instance looks at once. */
  private quietCheckAt = 0;
  /**
   * The earliest receipt deadline reported while a sweep reads D1, which its answer may not
   * include: null when none was, undefined when no sweep is reading. Memory only: a sweep cut off
   * leaves `next_sweep` as it was, so the next run sweeps again from a fresh read.
   */
  private reportedDuringSweep: number | null | undefined;

  /**
   * When the next retention round is due (retention.ts), and whether it continues a backlog (the
   * last round filled its batch): null before the first round.
   */
  retentionDue(sql: SqlStorage): { at: number; continuing: boolean } | null {
    if (this.retention === undefined) {
      const [at, continuing] = getMeta(sql, "retention_due")?.split(":") ?? [];
      this.retention = at === undefined ? null : { at: Number(at), continuing: continuing === "1" };
    }
    return this.retention;
  }

  setRetentionDue(sql: SqlStorage, at: number, continuing: boolean): void {
    this.retention = { at, continuing };
    setMeta(sql, "retention_due", `${at}:${continuing ? "1" : "0"}`);
  }

  /** Which of the tenant's dispatcher shards this is (domain/dispatch-shards); 0 unless told. */
  shard(sql: SqlStorage): number {
    this.shardIndex ??= Number(getMeta(sql, "shard") ?? "0");
    return this.shardIndex;
  }

  rememberShard(sql: SqlStorage, shard: number): void {
    if (this.shard(sql) !== shard) {
      setMeta(sql, "shard", String(shard));
      this.shardIndex = shard;
    }
  }

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

  /** The tenant's `settings_version` last configured (0 before any). */
  settingsVersion(sql: SqlStorage): number {
    this.version ??= Number(getMeta(sql, "settings_version") ?? "0");
    return this.version;
  }

  setSettingsVersion(sql: SqlStorage, version: number): void {
    this.version = version;
    setMeta(sql, "settings_version", String(version));
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
    if (!tenantId) {
      // Nothing to release before a call names the tenant; its rate is read then.
      return 0;
    }
    const row = await db
      .prepare("SELECT send_rate FROM tenants WHERE id = ?")
      .bind(tenantId)
      .first<{ send_rate: number }>();
    this.rate = row?.send_rate ?? 0;
    setMeta(sql, "send_rate", String(this.rate));
    return this.rate;
  }

  setSuspended(sql: SqlStorage, suspended: boolean): void {
    this.suspension = suspended;
    setMeta(sql, "suspended", suspended ? "1" : "0");
  }

  /**
   * Whether the platform admin suspended the tenant (nothing is released meanwhile), from `meta`,
   * or from the tenant's row the first time: an instance first named after the suspension, by a
   * message an isolate accepted on an outdated copy of the settings, still holds it back.
   */
  async suspended(sql: SqlStorage, db: D1Database): Promise<boolean> {
    if (this.suspension !== undefined) {
      return this.suspension;
    }
    const stored = getMeta(sql, "suspended");
    if (stored !== undefined) {
      this.suspension = stored === "1";
      return this.suspension;
    }
    const tenantId = this.tenantId(sql);
    if (!tenantId) {
      return false; // nothing to hold back before a call names the tenant
    }
    const row = await db
      .prepare("SELECT suspended_at FROM tenants WHERE id = ?")
      .bind(tenantId)
      .first<{ suspended_at: number | null }>();
    this.setSuspended(sql, row?.suspended_at != null);
    return this.suspension ?? false;
  }

  /** The tenant changed its quiet hours (null turns them off); they apply from the next release. */
  setQuietHours(sql: SqlStorage, quietHours: QuietHours | null): void {
    this.quiet = quietHours;
    setMeta(sql, "quiet_hours", JSON.stringify(quietHours));
    this.recheckQuietHours();
  }

  /** The quiet hours from `meta`, or from the tenant's row the first time. */
  async quietHours(sql: SqlStorage, db: D1Database): Promise<QuietHours | null> {
    if (this.quiet !== undefined) {
      return this.quiet;
    }
    const stored = getMeta(sql, "quiet_hours");
    if (stored !== undefined) {
      this.quiet = parseQuietHours(stored);
      return this.quiet;
    }
    const tenantId = this.tenantId(sql);
    if (!tenantId) {
      return null; // as for the send rate: read once a call names the tenant
    }
    const row = await db
      .prepare("SELECT quiet_hours FROM tenants WHERE id = ?")
      .bind(tenantId)
      .first<{ quiet_hours: string | null }>();
    this.quiet = parseQuietHours(row?.quiet_hours);
    setMeta(sql, "quiet_hours", JSON.stringify(this.quiet));
    return this.quiet;
  }

  /**
   * Whether the release path must look at quiet hours again: a window opens and closes only on a
   * whole minute (every zone's offset is whole minutes), so once a minute, or sooner when new
   * marketing arrives or the setting changes.
   */
  quietCheckDue(now: number): boolean {
    return now >= this.quietCheckAt;
  }

  quietChecked(now: number): void {
    this.quietCheckAt = now - (now % MINUTE_MS) + MINUTE_MS;
  }

  recheckQuietHours(): void {
    this.quietCheckAt = 0;
  }

  bucket(sql: SqlStorage): BucketState | undefined {
    if (this.tokens === undefined) {
      const stored = getMeta(sql, "bucket");
      this.tokens = stored ? (JSON.parse(stored) as BucketState) : null;
    }
    return this.tokens ?? undefined;
  }

  setBucket(sql: SqlStorage, state: BucketState): void {
    this.tokens = state;
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

  /** A sent message's receipt falls due at `at`: a sweep must run by then. */
  expectReceiptBy(sql: SqlStorage, at: number): void {
    if (this.reportedDuringSweep !== undefined) {
      this.reportedDuringSweep = Math.min(this.reportedDuringSweep ?? at, at);
    }
    const current = this.nextSweep(sql);
    if (current === null || at < current) {
      this.setNextSweep(sql, at);
    }
  }

  /**
   * A sweep is about to read D1. A message the consumers record as sent after that read is
   * reported here while the sweep still runs, and the sweep's answer must keep its deadline.
   */
  sweepStarted(): void {
    this.reportedDuringSweep = null;
  }

  /** The sweep is done; `next` is the next deadline D1 knew of (null when none). */
  sweepFinished(sql: SqlStorage, next: number | null): void {
    const reported = this.reportedDuringSweep ?? null;
    this.reportedDuringSweep = undefined;
    this.setNextSweep(
      sql,
      next === null ? reported : reported === null ? next : Math.min(next, reported),
    );
  }

  private setNextSweep(sql: SqlStorage, at: number | null): void {
    this.sweepAt = at;
    if (at === null) {
      sql.exec("DELETE FROM meta WHERE key = 'next_sweep'");
    } else {
      setMeta(sql, "next_sweep", String(at));
    }
  }
}
