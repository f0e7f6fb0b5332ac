/**
 * Reading a tenant's send log over its partitions (db/send-log-partitions): the same query runs on
 * each database holding some of its messages (the current one first, then the older ones), and
 * the answers are merged here: ordered pages by their order, counts and sums by their group.
 */
import { type SendLogPlacement, tenantSendLogs } from "../../db/send-log-partitions";

/** The databases holding the tenant's send log, the current first (its placement is cached). */
export function sendLogsOf(env: Env, tenant: SendLogPlacement): D1Database[] {
  return tenantSendLogs(env, tenant);
}

/** The same read on every database of the tenant's send log, at once; answers in that order. */
export function onEachSendLog<T>(
  env: Env,
  tenant: SendLogPlacement,
  read: (d1: D1Database) => Promise<T>,
): Promise<T[]> {
  return Promise.all(sendLogsOf(env, tenant).map(read));
}

/**
 * The first `count` rows, in `compare`'s order, of ordered lists (each one partition's answer to
 * one keyset query: its first rows past the same cursor). Every row of the merged first `count`
 * is among its own partition's first `count`, so asking each for `count` is enough. A key met
 * twice is kept once, as the earlier list has it (the current partition comes first).
 */
export function mergeOrdered<T>(
  lists: readonly (readonly T[])[],
  compare: (a: T, b: T) => number,
  keyOf: (row: T) => string,
  count: number,
): T[] {
  if (lists.length === 1) {
    return (lists[0] ?? []).slice(0, count);
  }
  const seen = new Set<string>();
  const rows: T[] = [];
  for (const list of lists) {
    for (const row of list) {
      const key = keyOf(row);
      if (!seen.has(key)) {
        seen.add(key);
        rows.push(row);
      }
    }
  }
  return rows.sort(compare).slice(0, count);
}

/** Descending by a string key: the send log's newest-first order (ids are time-ordered). */
export const newestFirst =
  <T>(keyOf: (row: T) => string) =>
  (a: T, b: T): number => {
    const x = keyOf(a);
    const y = keyOf(b);
    return x < y ? 1 : x > y ? -1 : 0;
  };

/**
 * Rows of several partitions that share a group key, added together: `sum` names the numeric
 * columns to add; the other columns are taken from the group's first row. Groups come out in the
 * order they were first met.
 */
export function sumByGroup<T extends object>(
  lists: readonly (readonly T[])[],
  groupOf: (row: T) => string,
  sum: readonly (keyof T & string)[],
): T[] {
  if (lists.length === 1) {
    return [...(lists[0] ?? [])];
  }
  const groups = new Map<string, T>();
  for (const list of lists) {
    for (const row of list) {
      const key = groupOf(row);
      const group = groups.get(key);
      if (!group) {
        groups.set(key, { ...row });
        continue;
      }
      const target = group as Record<string, unknown>;
      const source = row as Record<string, unknown>;
      for (const column of sum) {
        target[column] = Number(target[column] ?? 0) + Number(source[column] ?? 0);
      }
    }
  }
  return [...groups.values()];
}
