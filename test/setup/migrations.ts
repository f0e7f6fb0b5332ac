import { applyD1Migrations, type D1Migration } from "cloudflare:test";

/**
 * Applies every migration in one D1 batch (one transaction, one round trip) instead of the
 * plugin's one batch per migration: the same statements in the same order and the same
 * `d1_migrations` record, for a fraction of the start-up of each test file.
 * test/db/migrations-at-once.test.ts checks that the schema is exactly the plugin's.
 */
export async function applyMigrationsAtOnce(
  db: D1Database,
  migrations: D1Migration[],
): Promise<void> {
  // The plugin's own call with nothing to apply creates its `d1_migrations` table, so that the
  // table is the same too.
  await applyD1Migrations(db, []);
  const record = db.prepare("INSERT INTO d1_migrations (name) VALUES (?)");
  await db.batch(
    migrations.flatMap((migration) => [
      ...migration.queries.map((query) => db.prepare(query)),
      record.bind(migration.name),
    ]),
  );
}
