/**
 * PlatformNumberLimiter: the platform-wide cap on verification codes to one phone number, from
 * all tenants together. One object per shard (`idFromName("verification-numbers:" + shard)`, the
 * shard a hash of the number, domain/verification-limits), so each number is counted by exactly
 * one object and no object takes every tenant's traffic.
 *
 * Receives: `admit()` from services/verifications/limits.ts, beside the tenant's own limiter,
 * and `cancel()` for a send admitted here that the tenant's limiter refused.
 * Guarantees: check and count are one synchronous step (exact under concurrency); a refusal says
 * when the number would pass. Never: keeps a send older than the window.
 */
import { DurableObject } from "cloudflare:workers";
import {
  DAY_MS,
  MINUTE_MS,
  PLATFORM_NUMBER_PER_DAY,
  windowWaitMs,
} from "../../domain/verification-limits";
import { firstRow } from "../../lib/sql-rows";

export class PlatformNumberLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS sends (number TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS sends_window ON sends (number, at);
      CREATE INDEX IF NOT EXISTS sends_age ON sends (at);
    `);
  }

  /** Counts a send to `number` unless the cap is reached: then, how long until it is not. */
  admit(send: {
    number: string;
    now: number;
  }): { ok: true; reservation: number } | { ok: false; waitMs: number } {
    const { number, now } = send;
    if (now - this.prunedAt >= MINUTE_MS) {
      this.prunedAt = now;
      this.sql.exec("DELETE FROM sends WHERE at <= ?", now - DAY_MS);
    }
    const capth = firstRow(
      this.sql,
      "SELECT at FROM sends WHERE number = ? AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?",
      number,
      now - DAY_MS,
      PLATFORM_NUMBER_PER_DAY - 1,
    );
    const wait = windowWaitMs(capth ? Number(capth.at) : undefined, DAY_MS, now);
    if (wait !== null) {
      return { ok: false, waitMs: wait };
    }
    const row = firstRow(
      this.sql,
      "INSERT INTO sends (number, at) VALUES (?, ?) RETURNING rowid AS id",
      number,
      now,
    );
    return { ok: true, reservation: Number(row?.id) };
  }

  /** Takes back a send `admit()` counted, which did not go. */
  cancel(reservation: number): void {
    this.sql.exec("DELETE FROM sends WHERE rowid = ?", reservation);
  }
}
