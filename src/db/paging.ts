/**
 * Keyset paging for the API's lists (`{data, next_cursor}`): the cursor is the last row's key on
 * the page before, a unique column whose order is the list's order (our ids are time-ordered, so
 * newest first is descending id). One row past the page is fetched to know whether another follows.
 */
import { asc, desc, gt, lt, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

export interface PageRequest {
  limit: number;
  /** The last key of the page before; none for the first page. */
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  /** The cursor of the next page, or null on the last one. */
  nextCursor: string | null;
}

/** The parts of the query that page it: its condition, order and limit. */
export function keyset(
  key: SQLiteColumn,
  request: PageRequest,
  order: "newest-first" | "ascending" = "newest-first",
): { after: SQL | undefined; orderBy: SQL; limit: number } {
  const newestFirst = order === "newest-first";
  return {
    /** Rows past the cursor; undefined on the first page (`and()` leaves it out). */
    after: request.cursor ? (newestFirst ? lt : gt)(key, request.cursor) : undefined,
    orderBy: newestFirst ? desc(key) : asc(key),
    limit: request.limit + 1,
  };
}

/** The page out of the rows a `keyset` query fetched, and the cursor of the next one. */
export function pageOf<T>(
  rows: readonly T[],
  request: PageRequest,
  cursorOf: (row: T) => string,
): Page<T> {
  const data = rows.slice(0, request.limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor: rows.length > request.limit && last ? cursorOf(last) : null,
  };
}
