/** Reading rows from the dispatcher's SQLite storage, for the modules that query it. */

export type Row = Record<string, SqlStorageValue>;

export function firstRow(
  sql: SqlStorage,
  query: string,
  ...bindings: SqlStorageValue[]
): Row | undefined {
  return sql.exec<Row>(query, ...bindings).toArray()[0];
}

export function allRows(sql: SqlStorage, query: string, ...bindings: SqlStorageValue[]): Row[] {
  return sql.exec<Row>(query, ...bindings).toArray();
}
