import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

function open(d1: D1Database) {
  return drizzle(d1, { schema, casing: "snake_case" });
}

export type Database = ReturnType<typeof open>;

// Building one works out the schema's relations afresh (a receipt POST spent a third of its CPU
// there), and it holds nothing but the binding: one per binding is built once and shared.
const opened = new WeakMap<D1Database, Database>();

export function database(d1: D1Database): Database {
  let db = opened.get(d1);
  if (!db) {
    db = open(d1);
    opened.set(d1, db);
  }
  return db;
}
