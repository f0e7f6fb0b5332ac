/**
 * The dispatcher's send-log partitions (db/send-log-partitions). New messages are logged to the
 * tenant's current partition, and each outbox row remembers where (`outbox.send_log`), so that
 * its release names that partition to the consumer even after the tenant moved. What the
 * dispatcher changes by id in the send log (cancels, holds, stale releases, the receipt
 * deadline) it changes on every partition of the tenant: a row is on exactly one, and a tenant
 * that never moved has only one.
 */
import {
  currentSendLog,
  MAIN_PARTITION,
  placementOf,
  type SendLogPlacement,
  tenantSendLogs,
} from "../../db/send-log-partitions";
import { partitionNameOf, sendLogNamed } from "../../delivery/send-logs";
import { allRows } from "../../lib/sql-rows";

const MAIN: SendLogPlacement = { sendLog: MAIN_PARTITION, previousSendLogs: [] };

async function placement(env: Env, tenantId: string | undefined): Promise<SendLogPlacement> {
  return tenantId ? placementOf(env, tenantId) : MAIN;
}

/** The database new messages of the tenant's shard `shard` are logged to. */
export async function currentLogOf(
  env: Env,
  tenantId: string | undefined,
  shard: number,
): Promise<D1Database> {
  return currentSendLog(env, await placement(env, tenantId), shard);
}

/** Every database holding some of the tenant's messages, the current one first. */
export async function logsOf(env: Env, tenantId: string | undefined): Promise<D1Database[]> {
  return tenantSendLogs(env, await placement(env, tenantId));
}

/** Notes that these outbox rows were logged to `db`. */
export function noteLoggedTo(sql: SqlStorage, env: Env, ids: string[], db: D1Database): void {
  sql.exec(
    "UPDATE outbox SET send_log = ? WHERE id IN (SELECT value FROM json_each(?))",
    partitionNameOf(env, db),
    JSON.stringify(ids),
  );
}

/**
 * The partition holding each of these released messages: from the outbox, else (a row logged
 * before the column, or taken back for its SMS fallback) found by looking in each of the tenant's
 * partitions, and noted. One found nowhere is left to the main partition.
 */
export async function partitionsOf(
  sql: SqlStorage,
  env: Env,
  tenantId: string,
  ids: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const row of allRows(
    sql,
    "SELECT id, send_log FROM outbox WHERE id IN (SELECT value FROM json_each(?))",
    JSON.stringify(ids),
  )) {
    if (row.send_log !== null) {
      found.set(String(row.id), String(row.send_log));
    }
  }
  const unknown = ids.filter((id) => !found.has(id));
  if (unknown.length === 0) {
    return found;
  }
  for (const db of await logsOf(env, tenantId)) {
    const { results } = await db
      .prepare("SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(unknown))
      .all<{ id: string }>();
    const here = results.map((row) => row.id).filter((id) => !found.has(id));
    for (const id of here) {
      found.set(id, partitionNameOf(env, db));
    }
    if (here.length > 0) {
      noteLoggedTo(sql, env, here, db);
    }
  }
  return found;
}

/** The database of a partition by name (the main one for a name no longer configured). */
export function logNamed(env: Env, name: string | undefined): D1Database {
  return sendLogNamed(env, name);
}
