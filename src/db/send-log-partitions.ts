/**
 * The send log's partitions. One D1 database runs one query at a time and holds at most 10 GB, so
 * the send log (messages, message_attempts, pending_receipts, webhook_deliveries and the
 * statistics rollups the triggers on `messages` keep) can be spread over several: each partition
 * is a D1 binding, `DB` (which also holds everything else: tenants, keys, contacts, settings…) or
 * one named `SEND_LOG_*` in wrangler.toml. Bindings are fixed at deploy, so a tenant is placed on
 * one of them (`tenants.send_log`), and a large tenant can be given its own.
 *
 * A tenant's new messages go to its current partition; a move leaves its older messages where
 * they are (`tenants.previous_send_logs`), and reads take the current partition and the previous
 * ones together. A tenant too busy for one database is spread: its dispatcher shards log to
 * `[send_log, ...send_log_spread]` in turn (shard k to the k mod n-th), since a recipient always
 * lands on one shard, and reads take them all. Every partition carries the same migrations; the tables outside the send log are
 * only ever used on `DB`.
 */

/** The partition every tenant starts on, and the database of everything outside the send log. */
export const MAIN_PARTITION = "DB";

const PARTITION_PREFIX = "SEND_LOG_";

function isD1(value: unknown): value is D1Database {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as D1Database).prepare === "function" &&
    typeof (value as D1Database).batch === "function"
  );
}

/** The names of the configured partitions: `DB`, then every `SEND_LOG_*` D1 binding, sorted. */
export function partitionNames(env: Env): string[] {
  const extra = Object.keys(env)
    .filter(
      (name) =>
        name.startsWith(PARTITION_PREFIX) &&
        isD1((env as unknown as Record<string, unknown>)[name]),
    )
    .sort();
  return [MAIN_PARTITION, ...extra];
}

/** Whether `name` is a configured partition. */
export function isPartition(env: Env, name: string): boolean {
  return partitionNames(env).includes(name);
}

/** The D1 database of the partition `name` (a configured one: see isPartition). */
export function partitionDb(env: Env, name: string): D1Database {
  if (name === MAIN_PARTITION) {
    return env.DB;
  }
  const value = name.startsWith(PARTITION_PREFIX)
    ? (env as unknown as Record<string, unknown>)[name]
    : undefined;
  if (!isD1(value)) {
    throw new Error(`send log partition ${name} is not a D1 binding of this Worker`);
  }
  return value;
}

/** Where a tenant's send log lives: the partition for new messages, then the older ones. */
export interface SendLogPlacement {
  sendLog: string;
  previousSendLogs: string[];
  /** Further current partitions (dispatcher shards log to them in turn); none by default. */
  sendLogSpread?: string[];
}

/** The partitions that take the tenant's new messages: `sendLog`, then the spread (configured ones). */
export function currentPartitions(env: Env, placement: SendLogPlacement): string[] {
  return [placement.sendLog, ...(placement.sendLogSpread ?? [])].filter(
    (name, i, all) => all.indexOf(name) === i && (i === 0 || isPartition(env, name)),
  );
}

/**
 * The database that takes the new messages of the tenant's dispatcher shard `shard` (0 for an
 * unsharded tenant, and for what no shard writes: events not about a message).
 */
export function currentSendLog(env: Env, placement: SendLogPlacement, shard = 0): D1Database {
  const names = currentPartitions(env, placement);
  return partitionDb(env, names[shard % names.length] ?? placement.sendLog);
}

/**
 * Every database holding some of the tenant's messages, the current one first (a partition no
 * longer configured is skipped: its bindings were removed at a deploy, and its rows with them).
 */
export function tenantSendLogs(env: Env, placement: SendLogPlacement): D1Database[] {
  const names = [
    placement.sendLog,
    ...(placement.sendLogSpread ?? []),
    ...placement.previousSendLogs,
  ].filter((name, i, all) => all.indexOf(name) === i && isPartition(env, name));
  return names.map((name) => partitionDb(env, name));
}

/** Every partition's database, `DB` first: for the platform's sweeps over the whole send log. */
export function allSendLogs(env: Env): D1Database[] {
  return partitionNames(env).map((name) => partitionDb(env, name));
}

// A tenant's placement, as read from D1, kept for a few seconds per isolate: the background paths
// (queue consumers, the dispatcher, receipts) look it up for every batch. A move seen late here
// only sends a few more new messages to the old partition, which reads still include.
const PLACEMENT_TTL_MS = 10_000;
const placements = new Map<string, { placement: SendLogPlacement; until: number }>();

/** The tenant's placement (the main partition for a tenant D1 does not have). */
export async function placementOf(env: Env, tenantId: string): Promise<SendLogPlacement> {
  const now = Date.now();
  const cached = placements.get(tenantId);
  if (cached && cached.until > now) {
    return cached.placement;
  }
  const row = await env.DB.prepare(
    "SELECT send_log, previous_send_logs, send_log_spread FROM tenants WHERE id = ?",
  )
    .bind(tenantId)
    .first<PlacementColumns>();
  const placement = row ? placementFromRow(row) : { sendLog: MAIN_PARTITION, previousSendLogs: [] };
  placements.set(tenantId, { placement, until: now + PLACEMENT_TTL_MS });
  return placement;
}

/** Forgets this isolate's copy of a tenant's placement (after a move made here). */
export function forgetPlacement(tenantId: string): void {
  placements.delete(tenantId);
}

/** The placement columns of a `tenants` row, as raw SQL reads them. */
export interface PlacementColumns {
  send_log: string;
  previous_send_logs: string | null;
  send_log_spread: string | null;
}

export function placementFromRow(row: PlacementColumns): SendLogPlacement {
  return {
    sendLog: row.send_log,
    previousSendLogs: row.previous_send_logs
      ? (JSON.parse(row.previous_send_logs) as string[])
      : [],
    sendLogSpread: row.send_log_spread ? (JSON.parse(row.send_log_spread) as string[]) : [],
  };
}
