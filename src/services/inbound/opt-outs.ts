/**
 * Opt-outs: the numbers a tenant must not message, because they replied a keyword (STOP, 退订…,
 * opt-out-stage.ts) or the tenant suppressed them by hand (`/v1/opt-outs`). D1's `opt_outs` is
 * the record; the tenant's dispatcher keeps a copy of the numbers and refuses sends to them in
 * the call that accepts them (no D1 read per send). So the copy is told first when a number opts
 * out, and last when it opts back in: a failure between the two errs towards not sending, and the
 * change, being idempotent, is simply made again. Every change is audited and emits
 * `opt_out.created` or `opt_out.removed`. Opting out deletes no history.
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import { database } from "../../db/client";
import { optOuts } from "../../db/schema";
import { emitEvents } from "../../delivery/webhook-events";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import { ApiError } from "../../lib/problem";
import { type AuditSource, audited } from "../audit/audit-log";
import { setOptOutOnShards } from "../messaging/dispatch-shards";

export type OptOutRow = typeof optOuts.$inferSelect;

/** The public view, in events and the API. */
export function optOutView(row: OptOutRow) {
  return {
    phone: row.phone,
    source: row.source,
    reason: row.reason,
    inbound_id: row.inboundId,
    created_at: new Date(row.createdAt).toISOString(),
  };
}

/** The audit source of what an inbound keyword changes: Relaybox, on the person's word. */
export function inboundSource(tenantId: string): AuditSource {
  return { tenantId, actor: { type: "system", id: "inbound" } };
}

export async function findOptOut(
  env: Env,
  tenantId: string,
  phone: string,
): Promise<OptOutRow | undefined> {
  return database(env.DB)
    .select()
    .from(optOuts)
    .where(and(eq(optOuts.tenantId, tenantId), eq(optOuts.phone, phone)))
    .get();
}

/** `<created_at ms>-<digits of the number>`: URL-safe (a `+` in a query string is a space). */
export const OPT_OUT_CURSOR = /^\d{1,16}-\d{1,15}$/;

/** Newest first, optionally the one number; `cursor` is the last row of the previous page. */
export async function listOptOuts(
  env: Env,
  caller: Caller,
  query: { phone?: string; limit: number; cursor?: string },
): Promise<{ data: OptOutRow[]; nextCursor: string | null }> {
  const conditions = [eq(optOuts.tenantId, caller.tenant.id)];
  if (query.phone !== undefined) {
    conditions.push(eq(optOuts.phone, e164Of(query.phone, caller, "/phone", "query")));
  }
  if (query.cursor !== undefined) {
    const [at, digits] = query.cursor.split("-");
    const createdAt = Number(at);
    const phone = `+${digits}`;
    const after = or(
      lt(optOuts.createdAt, createdAt),
      and(eq(optOuts.createdAt, createdAt), lt(optOuts.phone, phone)),
    );
    if (after) {
      conditions.push(after);
    }
  }
  const rows = await database(env.DB)
    .select()
    .from(optOuts)
    .where(and(...conditions))
    .orderBy(desc(optOuts.createdAt), desc(optOuts.phone))
    .limit(query.limit + 1);
  const data = rows.slice(0, query.limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor:
      rows.length > query.limit && last ? `${last.createdAt}-${last.phone.slice(1)}` : null,
  };
}

/**
 * Suppresses a number by hand. `created` false (and nothing changed) when it had opted out
 * already, whichever way.
 */
export async function addOptOut(
  env: Env,
  caller: Caller,
  input: { phone: string; reason?: string },
  now: number = Date.now(),
): Promise<{ created: boolean; row: OptOutRow }> {
  const phone = e164Of(input.phone, caller, "/phone", "body");
  const existing = await findOptOut(env, caller.tenant.id, phone);
  if (existing) {
    return { created: false, row: existing };
  }
  const row: OptOutRow = {
    tenantId: caller.tenant.id,
    phone,
    source: "manual",
    reason: input.reason ?? null,
    inboundId: null,
    createdAt: now,
  };
  return { created: await recordOptOut(env, caller, row), row };
}

/** Lifts a number's opt-out, however it was made; a number not opted out is a 404. */
export async function removeOptOut(
  env: Env,
  caller: Caller,
  rawPhone: string,
  now: number = Date.now(),
): Promise<void> {
  const parsed = normalisePhone(rawPhone, caller.tenant.homeCountry);
  const row = parsed.ok ? await findOptOut(env, caller.tenant.id, parsed.e164) : undefined;
  if (!row) {
    throw new ApiError("not-found", "No opt-out for this number.");
  }
  await liftOptOut(env, caller, row, "manual", now);
}

/**
 * Writes an opt-out (the dispatcher's copy first, then D1 with its audit entry) and emits its
 * event. `false` when the number had opted out already (a concurrent change won): nothing is
 * written, and the event named after this row is still emitted only if this row is the one kept.
 */
export async function recordOptOut(
  env: Env,
  by: Caller | AuditSource,
  row: OptOutRow,
): Promise<boolean> {
  await setOptOutOnShards(env, { tenantId: row.tenantId, phone: row.phone, optedOut: true });
  // The `opt_out` statistic: migration 0023's trigger on this insert (a repeat inserts nothing).
  const [inserted] = await audited(
    env,
    by,
    { action: "opt_out.create", target: row.phone, diff: diffOf({}, optOutView(row)) },
    [database(env.DB).insert(optOuts).values(row).onConflictDoNothing().returning()],
  );
  if ((inserted?.length ?? 0) === 0) {
    return false;
  }
  await emitOptOutEvent(env, "opt_out.created", row, row.createdAt);
  return true;
}

/** Deletes an opt-out (D1 with its audit entry, then the dispatcher's copy) and emits its event. */
export async function liftOptOut(
  env: Env,
  by: Caller | AuditSource,
  row: OptOutRow,
  removedBy: "keyword" | "manual",
  now: number,
  /** The inbound message that asked for it, for a keyword (its event's identity). */
  inboundId: string | null = null,
): Promise<void> {
  const [deleted] = await audited(
    env,
    by,
    {
      action: "opt_out.remove",
      target: row.phone,
      diff: diffOf(optOutView(row), {}),
    },
    [
      database(env.DB)
        .delete(optOuts)
        .where(and(eq(optOuts.tenantId, row.tenantId), eq(optOuts.phone, row.phone)))
        .returning(),
    ],
  );
  await setOptOutOnShards(env, { tenantId: row.tenantId, phone: row.phone, optedOut: false });
  if ((deleted?.length ?? 0) > 0) {
    await emitOptOutEvent(env, "opt_out.removed", row, now, { removed_by: removedBy, inboundId });
  }
}

export async function emitOptOutEvent(
  env: Env,
  type: "opt_out.created" | "opt_out.removed",
  row: OptOutRow,
  at: number,
  removal?: { removed_by: "keyword" | "manual"; inboundId: string | null },
): Promise<void> {
  // The event's id follows from this key: a keyword's events are named after their inbound
  // message (handling it again emits nothing new), a manual change after the row and its time.
  const identity = removal
    ? (removal.inboundId ?? `${row.tenantId}:${row.phone}:${at}`)
    : (row.inboundId ?? `${row.tenantId}:${row.phone}:${row.createdAt}`);
  await emitEvents(env, [
    {
      type,
      tenantId: row.tenantId,
      messageId: `opt_out:${identity}`,
      occurredAt: at,
      data: optOutEventData(row, at, removal),
    },
  ]);
}

/**
 * The `data` of an `opt_out.*` event: the opt-out's view, and for a removal who removed it and
 * when (webhook-doc.ts: OptOutEventData).
 */
export function optOutEventData(
  row: OptOutRow,
  at: number,
  removal?: { removed_by: "keyword" | "manual" },
): Record<string, unknown> {
  const data: Record<string, unknown> = optOutView(row);
  if (removal) {
    data.removed_by = removal.removed_by;
    data.removed_at = new Date(at).toISOString();
  }
  return data;
}

function e164Of(input: string, caller: Caller, pointer: string, where: "body" | "query"): string {
  const parsed = normalisePhone(input, caller.tenant.homeCountry);
  if (!parsed.ok) {
    throw new ApiError(
      where === "body" ? "unprocessable-entity" : "validation-error",
      `${pointer.slice(1)}: ${parsed.error.detail}`,
      {
        errors: [{ pointer, detail: parsed.error.detail }],
      },
    );
  }
  return parsed.e164;
}
