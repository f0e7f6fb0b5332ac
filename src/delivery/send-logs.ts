/**
 * Which send-log partition (db/send-log-partitions) a background job's rows are on. A job that
 * changes a message or a webhook delivery carries the name of the partition holding the row, set
 * where the row was written, so that a tenant moved since (or an isolate whose copy of its
 * placement is stale) still reaches the row. Jobs queued before partitions existed carry none:
 * their rows are on the main partition.
 */
import {
  isPartition,
  MAIN_PARTITION,
  partitionDb,
  partitionNames,
} from "../db/send-log-partitions";

/** The database of the partition a job names (the main one for a job that names none). */
export function sendLogNamed(env: Env, name: string | undefined): D1Database {
  return partitionDb(env, name !== undefined && isPartition(env, name) ? name : MAIN_PARTITION);
}

/** The name of the partition whose database `db` is (the main one when it is none of them). */
export function partitionNameOf(env: Env, db: D1Database): string {
  return partitionNames(env).find((name) => partitionDb(env, name) === db) ?? MAIN_PARTITION;
}

/** The name a job carries: none for the main partition, so its payload stays as it was. */
export function jobPartition(env: Env, db: D1Database): { send_log?: string } {
  const name = partitionNameOf(env, db);
  return name === MAIN_PARTITION ? {} : { send_log: name };
}
