/**
 * Local D1 backups: `exportLocalD1` writes `wrangler d1 export --local` to a file, and
 * `restoreLocalD1` brings one back with `wrangler d1 execute --local --file`. Used by
 * `npm run backup`, `npm run restore` and `npm run backup:check` (scripts/backup*.mjs, restore.mjs).
 *
 * An export is the whole database as SQL: `CREATE TABLE` for every table (d1_migrations too, with
 * its rows, so the migrations it was taken at come back with it), `INSERT`s, then indexes and
 * triggers. It cannot be loaded over tables that exist, so a restore drops every table, view and
 * trigger first. The drops and the export run as ONE `wrangler d1 execute --file`, which wrangler
 * runs locally as one D1 batch, that is one transaction: a restore that fails half way (a bad
 * file) leaves the database as it was. Before that, the file is loaded into a scratch database,
 * so a file that is not a loadable export is refused before anything is touched.
 *
 * The export cannot be loaded as written: it follows each `CREATE TABLE` with that table's rows,
 * and an INSERT into a table whose foreign key names a table not created yet fails ("no such
 * table: main.tenants") even with deferred foreign keys. `restorableSql` moves every
 * `CREATE TABLE` ahead of the rows; indexes and triggers (the export's tail) stay last.
 *
 * Every D1 binding is backed up: `DB` to the file named, and each other partition of the send
 * log (`SEND_LOG_*`, src/db/send-log-partitions.ts) beside it, `<file>.<BINDING>.sql`
 * (`partitionFile`); a restore brings back each one whose file is there.
 *
 * Only D1: Durable Object state (outboxes, idempotency keys, WeChat tokens, limiter counters) is
 * not in an export (README, "Backups and restore").
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { d1Bindings, queryLocalD1, runWrangler } from "./local-server.mjs";
import { ROOT } from "./seed.mjs";

export const BACKUP_DIR = join(ROOT, "backups");

/** relaybox-YYYY-MM-DD-HHMMSS.sql (UTC) for `date`. */
export function backupFileName(date = new Date()) {
  const iso = date.toISOString(); // 2026-12-07T04:36:55.123Z
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19).replaceAll(":", "");
  return `relaybox-${day}-${time}.sql`;
}

function persistArgs(persistTo) {
  return persistTo ? ["--persist-to", resolve(persistTo)] : [];
}

/**
 * `wrangler d1 export` has no `--persist-to`: it reads the state next to its configuration file
 * (`.wrangler/state`). For another state directory it is given a copy of wrangler.toml in a
 * temporary directory whose `.wrangler/state` is a link to that directory.
 */
function exportConfig(persistTo, cwd) {
  if (!persistTo) {
    return { args: [], cleanup: () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), "relaybox-export-"));
  writeFileSync(join(dir, "wrangler.toml"), readFileSync(join(cwd, "wrangler.toml")));
  mkdirSync(join(dir, ".wrangler"));
  symlinkSync(resolve(persistTo), join(dir, ".wrangler", "state"), "dir");
  return {
    args: ["--config", join(dir, "wrangler.toml")],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The file of partition `binding`'s export beside `file` (DB's own): `x.sql` → `x.SEND_LOG_2.sql`. */
export function partitionFile(file, binding) {
  return binding === "DB" ? file : file.replace(/(\.sql)?$/, `.${binding}.sql`);
}

/**
 * Exports the local D1 (the default state, or `persistTo`) to `output` (default
 * backups/relaybox-<UTC date and time>.sql), and each other partition of the send log beside it
 * (`partitionFile`); resolves with DB's file's path.
 */
export async function exportLocalD1({ persistTo, output, cwd = ROOT } = {}) {
  const file = resolve(output ?? join(BACKUP_DIR, backupFileName()));
  mkdirSync(dirname(file), { recursive: true });
  const config = exportConfig(persistTo, cwd);
  try {
    for (const binding of d1Bindings(cwd)) {
      const target = partitionFile(file, binding);
      await runWrangler(["d1", "export", binding, "--local", "--output", target, ...config.args], {
        cwd,
      });
      if (!existsSync(target)) {
        throw new Error(`wrangler d1 export wrote no ${target}`);
      }
    }
  } finally {
    config.cleanup();
  }
  return file;
}

/** What `wrangler d1 export` writes first; anything else is not an export of ours. */
const EXPORT_HEAD = "PRAGMA defer_foreign_keys=TRUE;";

function readExport(file) {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new Error(`no such file: ${file}`);
  }
  const sql = readFileSync(file, "utf8");
  if (!sql.startsWith(EXPORT_HEAD) || !/^CREATE TABLE IF NOT EXISTS "d1_migrations"/m.test(sql)) {
    throw new Error(
      `${file} does not look like a \`wrangler d1 export\` of this database (it should start with ${EXPORT_HEAD} and create d1_migrations)`,
    );
  }
  return sql;
}

/**
 * Splits `sql` at each `;` outside quotes ('…', "…", `…`), up to the first statement that is
 * neither a CREATE TABLE nor an INSERT (`tail`, kept verbatim: trigger bodies hold `;`s).
 */
function splitHead(sql) {
  const statements = [];
  let start = 0;
  let quote = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      if (c === quote) {
        quote = null; // a doubled quote closes and reopens: the same thing to a splitter
      }
    } else if (c === "'" || c === '"' || c === "`") {
      quote = c;
    } else if (c === ";") {
      const statement = sql.slice(start, i + 1).trim();
      if (
        statement !== "" &&
        !/^(CREATE TABLE|INSERT INTO|PRAGMA defer_foreign_keys)/i.test(statement)
      ) {
        return { statements, tail: sql.slice(start) };
      }
      statements.push(statement);
      start = i + 1;
    }
  }
  return { statements, tail: sql.slice(start) };
}

/** The export with every table created before any row is inserted (see the file's comment). */
export function restorableSql(exportSql) {
  const { statements, tail } = splitHead(exportSql);
  const tables = statements.filter((s) => /^CREATE TABLE/i.test(s));
  const rows = statements.filter((s) => /^INSERT INTO/i.test(s));
  return [EXPORT_HEAD, ...tables, ...rows, tail.trim()].join("\n");
}

/**
 * Tables in an order to drop them: each after every table whose foreign keys reference it.
 * Dropping a table deletes its rows first, which checks its foreign keys, and that fails ("no
 * such table") once the table they reference is gone, deferred or not.
 */
function dropOrder(tables) {
  const names = new Set(tables.map((t) => t.name));
  const references = new Map(
    tables.map((t) => [
      t.name,
      new Set(
        [...(t.sql ?? "").matchAll(/REFERENCES\s+[`"[]?([A-Za-z0-9_]+)/gi)]
          .map((m) => m[1])
          .filter((name) => names.has(name) && name !== t.name),
      ),
    ]),
  );
  const ordered = [];
  const left = new Set(names);
  while (left.size > 0) {
    // Droppable: no table still standing references it. A cycle (none today) drops in any order.
    const next =
      [...left].find((name) => ![...left].some((other) => references.get(other)?.has(name))) ??
      [...left][0];
    ordered.push(next);
    left.delete(next);
  }
  return ordered;
}

/**
 * The statements that empty the database: every trigger, view and table of ours (indexes go
 * with their tables). `_cf_*` are D1's own, `sqlite_*` SQLite's; sqlite_sequence is emptied
 * instead (it cannot be dropped), and the export's INSERTs with explicit ids set it again.
 */
async function wipeStatements({ persistTo, cwd, binding }) {
  const objects = await queryLocalD1(
    "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'view', 'table') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
    { persistTo, cwd, binding },
  );
  const quote = (name) => `"${name.replaceAll('"', '""')}"`;
  const statements = [
    ...objects.filter((o) => o.type === "trigger").map((o) => `DROP TRIGGER ${quote(o.name)};`),
    ...objects.filter((o) => o.type === "view").map((o) => `DROP VIEW ${quote(o.name)};`),
    ...dropOrder(objects.filter((o) => o.type === "table")).map(
      (name) => `DROP TABLE ${quote(name)};`,
    ),
  ];
  const sequence = await queryLocalD1(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
    { persistTo, cwd, binding },
  );
  if (sequence.length > 0) {
    statements.push("DELETE FROM sqlite_sequence;");
  }
  return statements;
}

async function executeFile(sqlFile, { persistTo, cwd, binding = "DB" }) {
  await runWrangler(
    ["d1", "execute", binding, "--local", "--yes", "--file", sqlFile, ...persistArgs(persistTo)],
    { cwd },
  );
}

/**
 * Replaces the local D1 (the default state, or `persistTo`) with the export in `file`. Stop any
 * `wrangler dev` on that state first: it keeps its own handle on the database. Idempotent: a
 * fresh (even unmigrated) database and one already restored end the same.
 */
export async function restoreLocalD1(file, { persistTo, cwd = ROOT } = {}) {
  const main = resolve(file);
  // DB's file, and each partition's beside it (a backup from before a partition has none for it:
  // that partition is left as it is).
  const restores = d1Bindings(cwd)
    .map((binding) => ({ binding, path: partitionFile(main, binding) }))
    .filter(({ binding, path }) => binding === "DB" || existsSync(path))
    .map(({ binding, path }) => ({ binding, sql: restorableSql(readExport(path)) }));
  const scratch = mkdtempSync(join(tmpdir(), "relaybox-restore-"));
  try {
    // Trial loads into empty databases: a file that does not load is refused here, before
    // anything is dropped.
    for (const { binding, sql } of restores) {
      const trial = join(scratch, `trial-${binding}.sql`);
      writeFileSync(trial, `${sql}\n`);
      await executeFile(trial, { persistTo: join(scratch, "state"), cwd, binding });
    }
    for (const { binding, sql } of restores) {
      const wipe = await wipeStatements({ persistTo, cwd, binding });
      // Deferred foreign keys: dropping a referenced table before the one referencing it must not
      // fail the batch (every table is gone, or back, by the time it commits).
      const combined = join(scratch, `restore-${binding}.sql`);
      writeFileSync(combined, `${EXPORT_HEAD}\n${wipe.join("\n")}\n${sql}\n`);
      await executeFile(combined, { persistTo, cwd, binding });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
