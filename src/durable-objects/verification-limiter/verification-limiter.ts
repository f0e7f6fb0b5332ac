/**
 * VerificationLimiter: one per tenant (`idFromName("tenant:" + tenantId)`), the counters behind a
 * tenant's verification limits and the authority on its live verifications
 * (services/verifications is its only caller).
 *
 * Receives: `admit()` before every verification code is sent, which also records the code on the
 * verification it goes on (the pending one to that recipient, else a new one) in the same step;
 * `attach()` with the id of a WeChat message that carries a code; `check()`, `read()`, `cancel()`;
 * `release()`/`cancel()` when a later check (the platform-wide cap) refuses what it admitted or
 * an error stops the send; `configure()` as the tenant changes `verification_limits` or
 * `fraud_guard`; `refusals()` for the stats.
 * Guarantees: a send is checked against every window and counted in one synchronous step, so
 * concurrent admits to one recipient are exact; every change of a verification (new code, check,
 * approval, cancel, expiry) is one synchronous step that also appends the row's next revision to
 * the D1 outbox, flushed by the alarm at once and retried until D1 takes it (the writes are
 * idempotent: a row lands only over an older revision), and the events `verification.approved`
 * and `verification.expired` go out after D1 has the change, exactly once per verification.
 * Never: calls a provider, or D1 on the hot path once its settings are known; keeps a send older
 * than a day or an approval older than an hour.
 */

import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { tenants } from "../../db/schema";
import { placementOf, tenantSendLogs } from "../../db/send-log-partitions";
import { codeHash } from "../../delivery/verification-codes";
import {
  type CodeToRecord,
  MAX_CHECKS,
  type MaskedTexts,
  maskedStatements,
  upsertVerification,
  type VerificationRow,
  verificationView,
} from "../../delivery/verification-records";
import { emitEvents } from "../../delivery/webhook-events";
import {
  type FraudGuard,
  isE164,
  type LimitName,
  MINUTE_MS,
  numberRangeOf,
  utcDayOf,
  type VerificationLimits,
  type VerificationSettings,
  verificationSettingsOf,
} from "../../domain/verification-limits";
import { timingSafeEqual } from "../../lib/crypto";
import { createLogger } from "../../lib/log";
import { firstRow } from "../../lib/sql-rows";
import {
  conversionWait,
  countRefusal,
  forgetReservation,
  migrateCounters,
  pruneCounters,
  recordApproval,
  recordSend,
  refusalRows,
  windowRules,
  windowWait,
} from "./counters";
import {
  dropLive,
  dueLive,
  enqueue,
  enqueueMasked,
  keyOfLive,
  liveById,
  liveLatestTo,
  livePending,
  migrateLive,
  nextExpiry,
  type OutboxEntry,
  outboxDone,
  outboxFailed,
  outboxSize,
  pruneLive,
  rememberAdmitted,
  saveLive,
  takeAdmitted,
  takeOutbox,
  withdrawUnflushed,
} from "./live";

/** A phone recipient's number range and country; null for a WeChat openid. */
export type PhoneParts = { range: string; country: string | null } | null;

export type LimiterVerdict =
  | { ok: true; reservation: string; verification?: VerificationRow }
  | { ok: false; limit: LimitName; waitMs: number }
  /** The pending verification keeps codes of this length: draw the code again (nothing counted). */
  | { ok: false; limit: null; recode: number };

export interface LimiterSettings extends VerificationSettings {
  version: number;
}

/** A verification check's answer; undefined from the object means it does not hold the id. */
export interface CheckAnswer {
  row: VerificationRow;
  valid: boolean;
}

const FLUSH_BATCH = 100;
/** The rollups' counters' bucket (migration 0027's triggers): 15 minutes. */
const BUCKET_MS = 900_000;
/**
 * How long the outbox gathers before a flush: one D1 batch then carries the changes of many
 * requests (D1's cost is mostly per call), and D1 is still only a moment behind.
 */
const FLUSH_GATHER_MS = 25;

interface DropBody {
  current: VerificationRow;
  restore: VerificationRow | null;
  messageId: string | null;
}

export class VerificationLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private settings: LimiterSettings | undefined;
  private prunedAt = Number.NEGATIVE_INFINITY;
  private livePrunedAt = Number.NEGATIVE_INFINITY;
  private flushFailures = 0;
  /** When the alarm is set for (null: none; undefined: not known since the object started). */
  private alarmAt: number | null | undefined;
  /** True while the alarm runs: it sets the next one itself when it ends. */
  private flushing = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateCounters(this.sql);
    migrateLive(this.sql);
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

  /**
   * Checks a send against every rule and counts it if all admit; otherwise counts the refusal.
   * With `verification`, the admitted code is recorded in the same step on the pending
   * verification to its key (a re-send: the old code stops working) or a new one, and the row goes
   * to the D1 outbox; the verification answered is the one the code goes on.
   */
  async admit(send: {
    tenantId: string;
    recipient: string;
    phone: PhoneParts;
    now: number;
    verification?: CodeToRecord;
  }): Promise<LimiterVerdict> {
    const settings = this.settings ?? (await this.loadSettings(send.tenantId));
    const { now } = send;
    const wanted = send.verification;
    // The code's hash is bound to the verification's id: the caller's for a new one; for a
    // re-send hashed here, again if another step changed which one that is while it was hashed.
    // (A new one needs no await, so its admit runs as one turn of the object.)
    let hashed: { id: string; hash: string } | undefined;
    while (wanted) {
      const candidate = livePending(this.sql, wanted.key, now)?.id ?? wanted.newId;
      if (hashed?.id === candidate) {
        break;
      }
      hashed = {
        id: candidate,
        hash:
          candidate === wanted.newId
            ? wanted.newHash
            : await codeHash(this.env, candidate, wanted.code),
      };
    }
    // From here on nothing awaits: the check, the count and the record are one step.
    const pending = wanted ? livePending(this.sql, wanted.key, now) : undefined;
    if (
      wanted &&
      pending &&
      wanted.codeLength === null &&
      pending.codeLength !== wanted.code.length
    ) {
      return { ok: false, limit: null, recode: pending.codeLength };
    }
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
    if (!wanted || !hashed) {
      return { ok: true, reservation };
    }
    const row = this.recordCode(wanted, pending, hashed.hash, reservation, now);
    return { ok: true, reservation, verification: row };
  }

  private recordCode(
    wanted: CodeToRecord,
    pending: VerificationRow | undefined,
    hash: string,
    reservation: string,
    now: number,
  ): VerificationRow {
    const messageId = wanted.masked?.messageId ?? null;
    const row: VerificationRow = pending
      ? {
          ...pending,
          recipient: wanted.base.recipient,
          appId: wanted.base.appId,
          codeHash: hash,
          codeLength: wanted.code.length,
          sendCount: pending.sendCount + 1,
          expiresAt: wanted.expiresAt,
          updatedAt: now,
          revision: pending.revision + 1,
          messageId: messageId ?? pending.messageId,
        }
      : {
          id: wanted.newId,
          ...wanted.base,
          status: "pending",
          codeHash: hash,
          codeLength: wanted.code.length,
          attempts: 0,
          sendCount: 1,
          revision: 1,
          messageId,
          createdAt: now,
          updatedAt: now,
          expiresAt: wanted.expiresAt,
          approvedAt: null,
        };
    saveLive(this.sql, wanted.key, row, reservation);
    if (wanted.masked) {
      enqueueMasked(this.sql, { ...wanted.masked, verificationId: row.id }, reservation);
    }
    rememberAdmitted(this.sql, reservation, row.id, pending, now);
    this.flushSoon();
    return row;
  }

  /**
   * The message that carries the verification's current code (a WeChat one, whose id is known
   * only once accepted), with its masked texts; or the texts again after a re-composed hand-over.
   */
  attach(attached: { id: string; codeHash: string; masked: MaskedTexts; now: number }): void {
    const row = liveById(this.sql, attached.id);
    const key = keyOfLive(this.sql, attached.id);
    if (row && key !== undefined && row.codeHash === attached.codeHash) {
      if (row.messageId !== attached.masked.messageId) {
        saveLive(this.sql, key, {
          ...row,
          messageId: attached.masked.messageId,
          revision: row.revision + 1,
        });
      }
    }
    enqueueMasked(this.sql, attached.masked, null);
    this.flushSoon();
  }

  /** The verification `id` in one of `modes`, expired if its time has passed; else undefined. */
  read(query: { id: string; modes: string[]; now: number }): VerificationRow | undefined {
    const row = liveById(this.sql, query.id);
    if (!row || !query.modes.includes(row.mode)) {
      return undefined;
    }
    return this.expireIfDue(row, query.now);
  }

  /**
   * Checks a code against the verification `id`, or the latest one to `to`: a code works once,
   * and the fifth wrong one ends it. Undefined when this object does not hold it.
   */
  async check(query: {
    id?: string;
    to?: string;
    modes: string[];
    code: string;
    /** The code's hash for `id`, when the caller made it (then nothing here awaits). */
    hash?: string;
    now: number;
  }): Promise<CheckAnswer | undefined> {
    const found =
      query.id !== undefined
        ? liveById(this.sql, query.id)
        : liveLatestTo(this.sql, query.to ?? "", query.modes);
    if (!found || !query.modes.includes(found.mode)) {
      return undefined;
    }
    const hash =
      query.hash !== undefined && query.id === found.id
        ? query.hash
        : await codeHash(this.env, found.id, query.code);
    // From here on nothing awaits: the compare and the change are one step.
    const current = liveById(this.sql, found.id);
    const key = keyOfLive(this.sql, found.id);
    if (!current || key === undefined) {
      return undefined;
    }
    const { now } = query;
    const row = this.expireIfDue(current, now);
    if (row.status !== "pending") {
      return { row, valid: false };
    }
    if (timingSafeEqual(hash, row.codeHash)) {
      const approved: VerificationRow = {
        ...row,
        status: "approved",
        approvedAt: now,
        updatedAt: now,
        revision: row.revision + 1,
      };
      saveLive(this.sql, key, approved);
      this.recordConversion(approved, now);
      this.enqueueEvent("verification.approved", approved, now);
      this.flushSoon();
      return { row: approved, valid: true };
    }
    const attempts = row.attempts + 1;
    const counted: VerificationRow = {
      ...row,
      attempts,
      status: attempts >= MAX_CHECKS ? "max_attempts_reached" : "pending",
      updatedAt: now,
      revision: row.revision + 1,
    };
    saveLive(this.sql, key, counted);
    this.flushSoon();
    return { row: counted, valid: false };
  }

  /** Cancels a pending verification; `ended` when it was no longer pending. */
  cancelVerification(query: {
    id: string;
    modes: string[];
    now: number;
  }): { row: VerificationRow; ended: boolean } | undefined {
    const current = this.read(query);
    const key = keyOfLive(this.sql, query.id);
    if (!current || key === undefined) {
      return undefined;
    }
    if (current.status !== "pending") {
      return { row: current, ended: true };
    }
    const canceled: VerificationRow = {
      ...current,
      status: "canceled",
      updatedAt: query.now,
      revision: current.revision + 1,
    };
    saveLive(this.sql, key, canceled);
    this.flushSoon();
    return { row: canceled, ended: false };
  }

  /**
   * Takes back an admitted send that a later rule refused, and counts that refusal: nothing was
   * sent, so the verification is as it was before (its outbox entries withdrawn, or undone in D1).
   */
  release(refused: { reservation: string; limit: LimitName; now: number }): void {
    this.undoAdmitted(refused.reservation);
    forgetReservation(this.sql, refused.reservation);
    countRefusal(this.sql, utcDayOf(refused.now), refused.limit);
  }

  /** Takes back an admitted send that never went (an error after it was admitted). */
  cancel(reservation: string): void {
    this.undoAdmitted(reservation);
    forgetReservation(this.sql, reservation);
  }

  /** Refusals per UTC day and rule, from `fromDay` to `toDay` (`YYYY-MM-DD`, both included). */
  refusals(fromDay: string, toDay: string): { day: string; limit: LimitName; count: number }[] {
    return refusalRows(this.sql, fromDay, toDay);
  }

  /** Flushes the D1 outbox (and expires what is due); retried with a backoff while D1 fails. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.flushing = true;
    try {
      await this.flushRound();
    } finally {
      this.flushing = false;
    }
  }

  private async flushRound(): Promise<void> {
    const now = Date.now();
    for (const due of dueLive(this.sql, now)) {
      this.expireIfDue(due, now);
    }
    const entries = takeOutbox(this.sql, FLUSH_BATCH);
    if (entries.length > 0) {
      try {
        await this.flush(entries);
        outboxDone(this.sql, entries.at(-1)?.seq ?? 0);
        this.flushFailures = 0;
      } catch (error) {
        outboxFailed(this.sql);
        this.flushFailures += 1;
        createLogger(this.env.LOG_LEVEL, { object: "VerificationLimiter" }).warn(
          "verification limiter: D1 flush failed; retrying",
          { failures: this.flushFailures, error },
        );
        const backoff = Math.min(30_000, 250 * 2 ** Math.min(this.flushFailures, 7));
        await this.setAlarmAt(Date.now() + backoff);
        return;
      }
    }
    if (now - this.livePrunedAt >= MINUTE_MS) {
      this.livePrunedAt = now;
      pruneLive(this.sql, now);
    }
    const next = outboxSize(this.sql) > 0 ? Date.now() + FLUSH_GATHER_MS : nextExpiry(this.sql);
    if (next !== undefined) {
      await this.setAlarmAt(Math.max(next, Date.now()));
    }
  }

  private async setAlarmAt(at: number): Promise<void> {
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private async flush(entries: OutboxEntry[]): Promise<void> {
    const db = this.env.DB;
    const statements: D1PreparedStatement[] = [];
    const events: Parameters<typeof emitEvents>[1] = [];
    // A message's masked texts also go to the tenant's other send-log partitions, one of which may
    // hold the message (db/send-log-partitions): the trigger that masks it reads them there.
    const elsewhere = new Map<D1Database, D1PreparedStatement[]>();
    const onPartitions = async (
      tenantId: string,
      statementsOn: (log: D1Database) => D1PreparedStatement[],
    ) => {
      for (const log of tenantSendLogs(this.env, await placementOf(this.env, tenantId))) {
        if (log !== db) {
          elsewhere.set(log, [...(elsewhere.get(log) ?? []), ...statementsOn(log)]);
        }
      }
    };
    for (const entry of entries) {
      if (entry.kind === "row") {
        statements.push(upsertVerification(db, entry.body as VerificationRow));
      } else if (entry.kind === "masked") {
        const masked = entry.body as MaskedTexts;
        statements.push(...maskedStatements(db, masked));
        await onPartitions(masked.tenantId, (log) => maskedStatements(log, masked));
      } else if (entry.kind === "drop") {
        const drop = entry.body as DropBody;
        statements.push(...dropStatements(db, drop));
        const messageId = drop.messageId;
        if (messageId !== null && messageId !== drop.restore?.messageId) {
          await onPartitions(drop.current.tenantId, (log) => [
            log.prepare("DELETE FROM verification_messages WHERE message_id = ?").bind(messageId),
          ]);
        }
      } else {
        events.push(entry.body as Parameters<typeof emitEvents>[1][number]);
      }
    }
    if (statements.length > 0) {
      await db.batch(statements);
    }
    for (const [log, list] of elsewhere) {
      await log.batch(list);
    }
    // After D1 has the change; emitting again (a retry) is harmless: the event's id is derived.
    await emitEvents(this.env, events);
  }

  /**
   * Has the alarm flush the outbox in a moment (FLUSH_GATHER_MS): set only when it is not already
   * due by then (each change of the alarm holds the object's answers until it is stored); while
   * it runs, it sets the next itself.
   */
  private flushSoon(): void {
    const at = Date.now() + FLUSH_GATHER_MS;
    if (this.flushing || (typeof this.alarmAt === "number" && this.alarmAt <= at)) {
      return;
    }
    void this.setAlarmAt(at);
  }

  private expireIfDue(row: VerificationRow, now: number): VerificationRow {
    const key = keyOfLive(this.sql, row.id);
    if (row.status !== "pending" || row.expiresAt > now || key === undefined) {
      return row;
    }
    const expired: VerificationRow = {
      ...row,
      status: "expired",
      updatedAt: now,
      revision: row.revision + 1,
    };
    saveLive(this.sql, key, expired);
    this.enqueueEvent("verification.expired", expired, now);
    this.flushSoon();
    return expired;
  }

  private enqueueEvent(
    type: "verification.approved" | "verification.expired",
    row: VerificationRow,
    now: number,
  ): void {
    enqueue(this.sql, "event", {
      type,
      tenantId: row.tenantId,
      messageId: `verification:${row.id}`,
      occurredAt: now,
      data: verificationView(row, now),
    });
  }

  /**
   * An approval counts toward its number range's and country's conversion: an SMS code's, and an
   * `auto` code's to a contact with a number (its recipient and country are that number's, and
   * its send counted there).
   */
  private recordConversion(row: VerificationRow, now: number): void {
    const byPhone = row.channel === "sms" || (row.channel === "auto" && row.country !== null);
    if (!byPhone || !isE164(row.recipient)) {
      return;
    }
    recordApproval(this.sql, "prefix", numberRangeOf(row.recipient), now);
    if (row.country !== null) {
      recordApproval(this.sql, "country", row.country, now);
    }
  }

  private undoAdmitted(reservation: string): void {
    const admitted = takeAdmitted(this.sql, reservation);
    if (!admitted) {
      return;
    }
    const current = liveById(this.sql, admitted.id);
    const key = keyOfLive(this.sql, admitted.id);
    if (!current || key === undefined) {
      return;
    }
    const restore = admitted.previous
      ? { ...admitted.previous, revision: current.revision + 1 }
      : null;
    if (withdrawUnflushed(this.sql, reservation)) {
      // D1 never saw the admitted code: the verification goes back to what it was.
      if (restore) {
        saveLive(this.sql, key, restore);
      } else {
        dropLive(this.sql, admitted.id);
      }
    } else {
      // D1 may hold it already: undo it there too (and the send the rollups counted).
      if (restore) {
        this.sql.exec(
          "UPDATE live SET row = ?, status = ?, expires_at = ?, updated_at = ? WHERE id = ?",
          JSON.stringify(restore),
          restore.status,
          restore.expiresAt,
          restore.updatedAt,
          restore.id,
        );
      } else {
        dropLive(this.sql, admitted.id);
      }
      const drop: DropBody = { current, restore, messageId: current.messageId };
      enqueue(this.sql, "drop", drop);
    }
    this.flushSoon();
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

/**
 * Undoes in D1 a send that was refused after its row may have landed: the send the rollups
 * counted is taken back only while D1 holds it (so a retry takes nothing back twice), then the
 * row is restored (a re-send) or removed (a new verification), and the message's masked texts go.
 */
function dropStatements(db: D1Database, drop: DropBody): D1PreparedStatement[] {
  const { current, restore } = drop;
  const counted = restore ? current.sendCount - restore.sendCount : current.sendCount;
  const bucketAt = restore ? current.updatedAt : current.createdAt;
  const statements = [
    db
      .prepare(
        `UPDATE stat_counters SET n = n - ?1
         WHERE tenant_id = ?2 AND bucket_start = ?3
           AND metric = 'verification_sent' AND channel = ?4 AND provider = ''
           AND EXISTS (SELECT 1 FROM verifications WHERE id = ?5 AND revision = ?6)`,
      )
      .bind(
        counted,
        current.tenantId,
        Math.floor(bucketAt / BUCKET_MS) * BUCKET_MS,
        current.channel,
        current.id,
        current.revision,
      ),
  ];
  if (drop.messageId !== null && drop.messageId !== restore?.messageId) {
    statements.push(
      db.prepare("DELETE FROM verification_messages WHERE message_id = ?").bind(drop.messageId),
    );
  }
  if (restore) {
    // Its revision is newer than the admitted one's; as a plain update, no trigger counts it.
    statements.push(upsertVerification(db, restore));
  } else {
    statements.push(
      db
        .prepare("DELETE FROM verifications WHERE id = ? AND revision <= ?")
        .bind(current.id, current.revision),
    );
  }
  return statements;
}
