/**
 * The platform admin's use cases (routes/platform): creating tenants, their platform-only
 * settings, suspending and resuming them. Every change is audited in the tenant's own chain with
 * the actor `platform`, in the same batch as the change.
 *
 * A new tenant is ready to use at once: its row, its sandbox provider (so a test message
 * "delivers" with no carrier set up), its owner (invited: a link to set a password) and a first
 * live admin API key, all written in one batch with the entry `tenant.create`.
 */
import { and, eq, gte } from "drizzle-orm";
import { forgetCachedTenant } from "../../db/api-key-lookup";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { apiKeys, auditEntries, providerSettings, tenants, users } from "../../db/schema";
import {
  forgetPlacement,
  isPartition,
  MAIN_PARTITION,
  partitionNames,
} from "../../db/send-log-partitions";
import { allShards, dispatcherOf, dispatcherShard } from "../../delivery/dispatcher";
import { canonicalJson, diffOf } from "../../domain/audit-chain";
import type { RequestOrigin } from "../../domain/caller";
import { fromMicros } from "../../domain/pricing";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { type AuditSource, audited } from "../audit/audit-log";
import { copyOptOutsTo } from "../messaging/dispatch-shards";
import { idempotent } from "../messaging/idempotency";
import { generateApiKey } from "./api-keys";
import { type Invitation, prepareInvitation } from "./invitations";
import { announceSettings, NEXT_SETTINGS_VERSION, type TenantRow } from "./tenants";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

function platformSource(tenantId: string, origin: RequestOrigin): AuditSource {
  return { tenantId, actor: { type: "platform", id: "platform" }, origin };
}

/** What the audit log shows of a tenant's platform-managed fields (the API's own names). */
function auditedFields(row: TenantRow): Record<string, unknown> {
  return {
    name: row.name,
    home_country: row.homeCountry,
    allowed_countries: row.allowedCountries,
    send_rate: row.sendRate,
    currency: row.currency,
    suspended_at: row.suspendedAt,
  };
}

export interface NewTenant {
  name: string;
  homeCountry: string;
  allowedCountries?: string[];
  sendRate?: number;
  currency?: string;
  /** Trimmed and lower-cased by the route's schema. */
  ownerEmail: string;
}

export interface CreatedTenant {
  tenant: TenantRow;
  owner: { email: string; invitation: Invitation };
  apiKey: { row: ApiKeyRow; key: string };
}

const EMAIL_TAKEN = /UNIQUE constraint failed: users\.email/;

export async function createTenant(
  env: Env,
  input: NewTenant,
  origin: RequestOrigin,
  now: number = Date.now(),
): Promise<CreatedTenant> {
  const db = database(env.DB);
  const taken = await db.query.users.findFirst({ where: eq(users.email, input.ownerEmail) });
  if (taken) {
    throw emailTaken(input.ownerEmail);
  }
  const id = newId("tnt", now);
  const tenant: TenantRow = {
    id,
    name: input.name,
    homeCountry: input.homeCountry,
    allowedCountries: input.allowedCountries ?? [input.homeCountry],
    sendRate: input.sendRate ?? 50,
    signature: null,
    currency: input.currency ?? "USD",
    prices: {},
    quietHours: null,
    settingsVersion: 0,
    dispatchShards: 1,
    previousDispatchShards: null,
    sendLog: await sharedSendLogFor(env, id),
    sendLogSpread: null,
    previousSendLogs: null,
    createdAt: now,
    suspendedAt: null,
    verificationOptOutExempt: false,
    optOutConfirmation: null,
    verificationLimits: null,
    fraudGuard: null,
    budgetMicros: null,
    retention: null,
    desk: null,
  };
  const { invitation, statements: invite } = await prepareInvitation(
    env,
    { tenantId: tenant.id, email: input.ownerEmail, role: "owner", invitedBy: "platform" },
    now,
  );
  const key = generateApiKey("live");
  const keyRow: ApiKeyRow = {
    id: newId("key", now),
    tenantId: tenant.id,
    name: "First admin key",
    prefix: key.slice(0, 13),
    keyHash: await sha256Hex(key),
    mode: "live",
    scopes: ["admin"],
    createdAt: now,
    revokedAt: null,
    rateLimitPerSecond: null,
    rateLimitBurst: null,
  };
  try {
    await audited(
      env,
      platformSource(tenant.id, origin),
      {
        action: "tenant.create",
        target: tenant.id,
        diff: diffOf(
          {},
          { ...auditedFields(tenant), owner_email: input.ownerEmail, api_key_id: keyRow.id },
        ),
      },
      [
        db.insert(tenants).values(tenant),
        db.insert(providerSettings).values({
          id: newId("prv", now),
          tenantId: tenant.id,
          provider: "sandbox",
          config: {},
          hookToken: randomToken(32),
          createdAt: now,
          updatedAt: now,
        }),
        ...invite,
        db.insert(apiKeys).values(keyRow),
      ],
    );
  } catch (error) {
    // Taken between the check and the batch.
    if (EMAIL_TAKEN.test(String(error))) {
      throw emailTaken(input.ownerEmail);
    }
    throw error;
  }
  return {
    tenant,
    owner: { email: input.ownerEmail, invitation },
    apiKey: { row: keyRow, key },
  };
}

function emailTaken(email: string): ApiError {
  return new ApiError("conflict", `A user with the email address ${email} exists already.`, {
    errors: [{ pointer: "/owner_email", detail: "is taken by another user" }],
  });
}

/** Every tenant, newest first. */
export async function listTenants(env: Env, page: PageRequest): Promise<Page<TenantRow>> {
  const paging = keyset(tenants.id, page);
  const rows = await database(env.DB)
    .select()
    .from(tenants)
    .where(paging.after)
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, page, (row) => row.id);
}

export async function findTenant(env: Env, id: string): Promise<TenantRow> {
  const row = await database(env.DB).query.tenants.findFirst({ where: eq(tenants.id, id) });
  if (!row) {
    throw new ApiError("not-found", `No tenant ${id}.`);
  }
  return row;
}

/** What only the platform admin changes (the tenant changes the rest on PATCH /v1/tenant). */
export interface PlatformChanges {
  name?: string;
  allowedCountries?: string[];
  sendRate?: number;
}

export async function updateTenant(
  env: Env,
  id: string,
  changes: PlatformChanges,
  origin: RequestOrigin,
): Promise<TenantRow> {
  const before = await findTenant(env, id);
  const given = Object.fromEntries(
    Object.entries(changes).filter(([, value]) => value !== undefined),
  ) as PlatformChanges;
  const after = { ...before, ...given };
  return changeTenant(env, before, given, origin, {
    action: "tenant.update",
    diff: diffOf(auditedFields(before), auditedFields(after)),
  });
}

/**
 * Splits the tenant's dispatch over `shards` dispatcher objects by recipient, or back
 * (domain/dispatch-shards), recorded as `tenant.dispatch_shards`. Nothing in flight is lost or
 * reordered: the shards keep what they hold and send it; until a recipient's old shard holds none
 * of their messages, their new ones go there too (acceptRouted). A further change waits (409)
 * until every shard holds only its own recipients' messages; asking for the same number then
 * finishes the change (the shards left share the rate again after a shrink). Refused (422) for a
 * tenant with a monthly budget or a prepaid balance, which one object keeps exact.
 */
export async function setDispatchShards(
  env: Env,
  id: string,
  shards: number,
  origin: RequestOrigin,
): Promise<TenantRow> {
  const before = await findTenant(env, id);
  if (shards === before.dispatchShards && before.previousDispatchShards === null) {
    return before;
  }
  if (shards > 1) {
    const usage = await dispatcherOf(env, id).budgetUsage({
      limitMicros: null,
      zone: "UTC",
      currency: before.currency,
    });
    if (before.budgetMicros !== null || usage.balanceMicros !== null) {
      throw new ApiError(
        "unprocessable-entity",
        "This tenant has a monthly budget or a prepaid balance, which its dispatch keeps exact on one shard.",
        {
          errors: [
            { pointer: "/dispatch_shards", detail: "only 1 while a budget or balance is set" },
          ],
        },
      );
    }
  }
  if (before.previousDispatchShards !== null) {
    const left = await Promise.all(
      allShards(before).map((shard) =>
        dispatcherShard(env, id, shard).heldElsewhere(shard, before.dispatchShards),
      ),
    );
    const waiting = left.reduce((sum, n) => sum + n, 0);
    if (waiting > 0) {
      throw new ApiError(
        "conflict",
        `The change from ${before.previousDispatchShards} to ${before.dispatchShards} dispatch shards is still draining: ${waiting} message(s) wait on their recipients' old shards.`,
      );
    }
  }
  const previousDispatchShards = shards === before.dispatchShards ? null : before.dispatchShards;
  // Shards that did not exist learn the opted-out numbers before any message can reach them, and
  // again after the change, for a number that opted out meanwhile (told only the shards before).
  const added = Array.from({ length: shards }, (_, i) => i).filter(
    (shard) => shard >= Math.max(before.dispatchShards, before.previousDispatchShards ?? 1),
  );
  await copyOptOutsTo(env, id, added, true);
  const row = await changeTenant(
    env,
    before,
    { dispatchShards: shards, previousDispatchShards },
    origin,
    {
      action: "tenant.dispatch_shards",
      diff: diffOf(
        {
          dispatch_shards: before.dispatchShards,
          previous_dispatch_shards: before.previousDispatchShards,
        },
        { dispatch_shards: shards, previous_dispatch_shards: previousDispatchShards },
      ),
    },
  );
  await copyOptOutsTo(env, id, added, false);
  return row;
}

/**
 * The send-log partition a new tenant starts on: one of SEND_LOG_SHARED's configured partitions
 * (DB when it names none), chosen by a hash of the tenant's id, so tenants spread evenly.
 */
export async function sharedSendLogFor(env: Env, tenantId: string): Promise<string> {
  const shared = (env.SEND_LOG_SHARED ?? MAIN_PARTITION)
    .split(",")
    .map((name) => name.trim())
    .filter((name, i, all) => name !== "" && all.indexOf(name) === i && isPartition(env, name));
  if (shared.length <= 1) {
    return shared[0] ?? MAIN_PARTITION;
  }
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tenantId)),
  );
  const n = new DataView(digest.buffer).getUint32(0);
  return shared[n % shared.length] ?? MAIN_PARTITION;
}

/**
 * Places the tenant's new messages on the send-log partition `name` (db/send-log-partitions),
 * recorded as `tenant.send_log`, and, with `spread`, on further partitions as well: dispatcher
 * shard k then logs to `[name, ...spread][k mod n]`, for a tenant too busy for one database
 * (`spread` left out keeps the tenant's spread, `[]` ends it). Nothing moves: the messages it
 * has stay where they are, and a partition that stops taking new ones joins
 * `previous_send_logs`, which reads take with the current ones; taking new messages again takes
 * it off that list. A dispatcher or consumer that still has the old placement for a few seconds
 * (its isolate's copy) logs to the old partition, which reads still include, and every release
 * names the partition it logged to. 422 (pointer `/send_log` or `/send_log_spread`) for a name
 * that is not a configured partition.
 */
export async function setSendLog(
  env: Env,
  id: string,
  name: string,
  spreadAsked: string[] | undefined,
  origin: RequestOrigin,
): Promise<TenantRow> {
  checkSendLog(env, name);
  const before = await findTenant(env, id);
  const spread = [...new Set(spreadAsked ?? before.sendLogSpread ?? [])].filter((p) => p !== name);
  const current = [name, ...spread];
  const spreadBefore = before.sendLogSpread ?? [];
  if (name === before.sendLog && sameList(spread, spreadBefore)) {
    return before;
  }
  const previous = [...(before.previousSendLogs ?? []), before.sendLog, ...spreadBefore].filter(
    (partition, i, all) => !current.includes(partition) && all.indexOf(partition) === i,
  );
  const row = await changeTenant(
    env,
    before,
    { sendLog: name, sendLogSpread: spread.length > 0 ? spread : null, previousSendLogs: previous },
    origin,
    {
      action: "tenant.send_log",
      diff: diffOf(
        {
          send_log: before.sendLog,
          send_log_spread: spreadBefore,
          previous_send_logs: before.previousSendLogs ?? [],
        },
        { send_log: name, send_log_spread: spread, previous_send_logs: previous },
      ),
    },
  );
  forgetPlacement(id);
  return row;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** 422 unless `name` is a configured send-log partition (`pointer` names the field). */
export function checkSendLog(env: Env, name: string, pointer = "/send_log"): void {
  if (!isPartition(env, name)) {
    throw new ApiError("unprocessable-entity", "No such send-log partition.", {
      errors: [
        {
          pointer,
          detail: `must be one of the configured partitions: ${partitionNames(env).join(", ")}`,
        },
      ],
    });
  }
}

/** Suspends the tenant; suspending a suspended tenant changes nothing and records nothing. */
export async function suspendTenant(
  env: Env,
  id: string,
  origin: RequestOrigin,
  now: number = Date.now(),
): Promise<TenantRow> {
  const before = await findTenant(env, id);
  if (before.suspendedAt !== null) {
    return before;
  }
  return changeTenant(env, before, { suspendedAt: now }, origin, {
    action: "tenant.suspend",
    diff: diffOf({ suspended_at: null }, { suspended_at: now }),
  });
}

/** Resumes the tenant; resuming one that is not suspended changes nothing and records nothing. */
export async function resumeTenant(
  env: Env,
  id: string,
  origin: RequestOrigin,
): Promise<TenantRow> {
  const before = await findTenant(env, id);
  if (before.suspendedAt === null) {
    return before;
  }
  return changeTenant(env, before, { suspendedAt: null }, origin, {
    action: "tenant.resume",
    diff: diffOf({ suspended_at: before.suspendedAt }, { suspended_at: null }),
  });
}

export interface TopUpAnswer {
  tenantId: string;
  balanceMicros: number;
  currency: string;
}

/**
 * Tops up the tenant's prepaid balance by `micros` (the first top-up starts one at 0; from then
 * on its sends draw it down and may not take it below zero), once per Idempotency-Key: the same
 * key and amount within 24 h answer as the first did without adding again, another amount is a
 * 422. The balance lives in the tenant's dispatcher, which checks and draws it as it accepts;
 * the entry `tenant.balance.top_up` follows the top-up.
 *
 * The top-up is made under an id from the key's claim, so a retry that runs the claim again (the
 * first answer was never stored: a failure after the top-up) adds nothing and writes the entry
 * only if the first run did not get to it.
 */
export async function topUpBalance(
  env: Env,
  id: string,
  micros: number,
  origin: RequestOrigin,
  idempotencyKey?: string,
): Promise<{ replayed: boolean; answer: TopUpAnswer }> {
  const tenant = await findTenant(env, id);
  if (tenant.dispatchShards > 1 || (tenant.previousDispatchShards ?? 1) > 1) {
    throw new ApiError(
      "unprocessable-entity",
      "A prepaid balance needs the tenant's dispatch on one shard (dispatch_shards 1).",
      { errors: [{ pointer: "/amount", detail: `dispatch_shards is ${tenant.dispatchShards}` }] },
    );
  }
  const result = await idempotent<TopUpAnswer>(
    env,
    {
      tenantId: id,
      operation: "POST /v1/platform/tenants/{id}/balance",
      key: idempotencyKey,
      request: { micros },
      rerunnable: true,
    },
    async (claim) => {
      const topUpId = [...claim.seed].map((b) => b.toString(16).padStart(2, "0")).join("");
      const made = await dispatcherOf(env, id).topUpBalance({ tenantId: id, micros, id: topUpId });
      const diff = diffOf(
        { balance: fromMicros(made.beforeMicros) },
        { balance: fromMicros(made.balanceMicros) },
      );
      if (made.applied || !(await isRecorded(env, id, claim.at, diff))) {
        await audited(
          env,
          platformSource(id, origin),
          { action: "tenant.balance.top_up", target: id, diff },
          [],
        );
      }
      return {
        status: 200,
        body: { tenantId: id, balanceMicros: made.balanceMicros, currency: tenant.currency },
      };
    },
  );
  return { replayed: result.replayed, answer: result.body };
}

/** Whether a top-up's entry was written since its claim (a rerun's first run got that far). */
async function isRecorded(
  env: Env,
  tenantId: string,
  since: number,
  diff: ReturnType<typeof diffOf>,
): Promise<boolean> {
  const entries = await database(env.DB)
    .select({ diff: auditEntries.diff })
    .from(auditEntries)
    .where(
      and(
        eq(auditEntries.tenantId, tenantId),
        eq(auditEntries.action, "tenant.balance.top_up"),
        gte(auditEntries.at, since),
      ),
    );
  const wanted = canonicalJson(diff);
  return entries.some((e) => e.diff === wanted);
}

/**
 * Writes a change of the tenant's row with its entry, then tells its dispatcher (the new send rate,
 * or the suspension) before answering, and drops this isolate's cached keys of the tenant so a
 * suspension refuses them here at once; other isolates' caches follow within their TTL, and their
 * sends at once (the settings version moved: services/accounts/tenants `withCurrentSettings`).
 */
async function changeTenant(
  env: Env,
  before: TenantRow,
  set: PlatformChanges & {
    suspendedAt?: number | null;
    dispatchShards?: number;
    previousDispatchShards?: number | null;
    sendLog?: string;
    sendLogSpread?: string[] | null;
    previousSendLogs?: string[] | null;
  },
  origin: RequestOrigin,
  event: { action: string; diff: ReturnType<typeof diffOf> },
): Promise<TenantRow> {
  const db = database(env.DB);
  const [rows] = await audited(
    env,
    platformSource(before.id, origin),
    { ...event, target: before.id },
    [
      db
        .update(tenants)
        .set({ ...set, ...NEXT_SETTINGS_VERSION })
        .where(eq(tenants.id, before.id))
        .returning(),
    ],
  );
  const row = rows?.[0];
  if (!row) {
    throw new Error(`tenant ${before.id} vanished`);
  }
  await announceSettings(env, row);
  forgetCachedTenant(row.id);
  return row;
}
