/**
 * VerificationLimiter: one per tenant (`idFromName("tenant:" + tenantId)`), the counters behind a
 * tenant's verification limits (services/verifications/limits.ts is its only caller).
 *
 * Receives: `admit()` before every verification code is sent (which also picks the verification
 * it goes on: the tenant's pending one to that recipient, kept here so a start needs no D1 read;
 * D1 stays the record that checks read, and its write is guarded, see services/verifications),
 * `remember()`/`ended()` as a verification's pending state changes elsewhere, `release()` when a later check (the
 * platform-wide cap) refuses what it admitted, `approved()` as a code is approved, `configure()` as
 * the tenant changes `verification_limits` or `fraud_guard`, `refusals()` for the stats.
 * Guarantees: a send is checked against every window and counted in one synchronous step, so
 * concurrent admits to one recipient are exact (with 1 a minute, exactly one of any number of
 * simultaneous sends goes); each refusal names its rule and when it would pass, and is counted per
 * UTC day and rule; settings arrive with the tenant's settings version and only a newer one
 * replaces them (until the first arrives, they are read from D1 once).
 * Never: calls a provider or D1 on the hot path once its settings are known; keeps a send older
 * than a day or an approval older than an hour.
 */
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { tenants } from "../../db/schema";
import {
  type FraudGuard,
  type LimitName,
  MINUTE_MS,
  utcDayOf,
  type VerificationLimits,
  type VerificationSettings,
  verificationSettingsOf,
} from "../../domain/verification-limits";
import { firstRow } from "../../lib/sql-rows";
import {
  conversionWait,
  countRefusal,
  forgetPending,
  forgetReservation,
  migrateCounters,
  type PendingVerification,
  pruneCounters,
  recordApproval,
  recordSend,
  refusalRows,
  rememberPending,
  takePending,
  windowRules,
  windowWait,
} from "./counters";

/** A phone recipient's number range and country; null for a WeChat openid. */
export type PhoneParts = { range: string; country: string | null } | null;

export type LimiterVerdict =
  | { ok: true; reservation: string; verification?: PendingVerification }
  | { ok: false; limit: LimitName; waitMs: number };

export interface LimiterSettings extends VerificationSettings {
  version: number;
}

export class VerificationLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private settings: LimiterSettings | undefined;
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateCounters(this.sql);
    const row = firstRow(
      this.sql,
      "SELECT version, limits, fraud_guard FROM settings WHERE id = 1",
    );
    if (row) {
      this.settings = {
        version: Number(row.version),
        limits: JSON.parse(String(row.limits)) as VerificationLimits,
        fraudGuard: JSON.parse(String(row.fraud_guard)) as FraudGuard,
      };
    }
  }

  /** Takes the tenant's settings unless those held are newer (two changes may cross). */
  configure(settings: LimiterSettings): void {
    if (this.settings && this.settings.version > settings.version) {
      return;
    }
    this.settings = settings;
    this.sql.exec(
      `INSERT INTO settings (id, version, limits, fraud_guard) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version, limits = excluded.limits,
         fraud_guard = excluded.fraud_guard`,
      settings.version,
      JSON.stringify(settings.limits),
      JSON.stringify(settings.fraudGuard),
    );
  }

  /** Checks a send against every rule and counts it if all admit; otherwise counts the refusal. */
  async admit(send: {
    tenantId: string;
    recipient: string;
    phone: PhoneParts;
    now: number;
    /**
     * The verification to send on, picked in the same step: the pending one to this key (mode,
     * channel, recipient), else a new one with `newId`; remembered with the new expiry.
     */
    verification?: {
      key: string;
      newId: string;
      codeLength: number | null;
      expiresAt: number;
    };
  }): Promise<LimiterVerdict> {
    const settings = this.settings ?? (await this.loadSettings(send.tenantId));
    // From here on nothing awaits: the check and the count are one step for the object.
    const { now } = send;
    this.pruneNow(now);
    for (const rule of windowRules(settings.limits, send.recipient, send.phone)) {
      const wait = windowWait(this.sql, rule, now);
      if (wait !== null) {
        return this.refuse(rule.limit, wait, now);
      }
    }
    if (send.phone) {
      const scopes: ["prefix" | "country", string | null][] = [
        ["prefix", send.phone.range],
        ["country", send.phone.country],
      ];
      for (const [scope, key] of scopes) {
        const wait =
          key === null ? null : conversionWait(this.sql, settings.fraudGuard, scope, key, now);
        if (wait !== null) {
          return this.refuse("low_conversion", wait, now);
        }
      }
    }
    const reservation = crypto.randomUUID();
    recordSend(this.sql, reservation, "recipient", send.recipient, now);
    if (send.phone) {
      recordSend(this.sql, reservation, "prefix", send.phone.range, now);
      if (send.phone.country !== null) {
        recordSend(this.sql, reservation, "country", send.phone.country, now);
      }
    }
    const wanted = send.verification;
    return wanted
      ? { ok: true, reservation, verification: takePending(this.sql, wanted.key, wanted, now) }
      : { ok: true, reservation };
  }

  /** The verification now pending to `key`, when the one remembered had ended (a rare retry). */
  remember(pending: { key: string; id: string; codeLength: number; expiresAt: number }): void {
    rememberPending(this.sql, pending.key, pending);
  }

  /** The verification `id` is no longer pending (approved, canceled, locked by wrong codes). */
  ended(id: string): void {
    forgetPending(this.sql, id);
  }

  /** Takes back an admitted send that a later rule refused, and counts that refusal. */
  release(refused: { reservation: string; limit: LimitName; now: number }): void {
    forgetReservation(this.sql, refused.reservation);
    countRefusal(this.sql, utcDayOf(refused.now), refused.limit);
  }

  /** Takes back an admitted send that never went (an error after it was admitted). */
  cancel(reservation: string): void {
    forgetReservation(this.sql, reservation);
  }

  /** Counts an approved verification toward its range's and country's conversion. */
  approved(approval: { phone: PhoneParts; now: number; verificationId?: string }): void {
    if (approval.verificationId !== undefined) {
      forgetPending(this.sql, approval.verificationId);
    }
    if (!approval.phone) {
      return;
    }
    recordApproval(this.sql, "prefix", approval.phone.range, approval.now);
    if (approval.phone.country !== null) {
      recordApproval(this.sql, "country", approval.phone.country, approval.now);
    }
  }

  /** Refusals per UTC day and rule, from `fromDay` to `toDay` (`YYYY-MM-DD`, both included). */
  refusals(fromDay: string, toDay: string): { day: string; limit: LimitName; count: number }[] {
    return refusalRows(this.sql, fromDay, toDay);
  }

  private refuse(limit: LimitName, waitMs: number, now: number): LimiterVerdict {
    countRefusal(this.sql, utcDayOf(now), limit);
    return { ok: false, limit, waitMs };
  }

  private pruneNow(now: number): void {
    if (now - this.prunedAt >= MINUTE_MS) {
      this.prunedAt = now;
      pruneCounters(this.sql, now);
    }
  }

  /** The tenant's settings from D1, for an object no change has configured yet. */
  private async loadSettings(tenantId: string): Promise<LimiterSettings> {
    const row = await database(this.env.DB).query.tenants.findFirst({
      columns: { settingsVersion: true, verificationLimits: true, fraudGuard: true },
      where: eq(tenants.id, tenantId),
    });
    const loaded: LimiterSettings = {
      version: row?.settingsVersion ?? 0,
      ...verificationSettingsOf(row?.verificationLimits ?? null, row?.fraudGuard ?? null),
    };
    // A change configured while D1 answered is newer than what was read.
    if (this.settings) {
      return this.settings;
    }
    this.configure(loaded);
    return loaded;
  }
}
