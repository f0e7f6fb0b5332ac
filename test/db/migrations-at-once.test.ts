/**
 * The test set-up applies all the migrations in one batch (test/setup/migrations.ts) instead of
 * the plugin's applyD1Migrations, one batch per migration, which is what `wrangler d1 migrations
 * apply` does: both must leave exactly the same schema and migration record.
 */
import { applyD1Migrations, env, reset } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { applyMigrationsAtOnce } from "../setup/migrations";

interface Schema {
  objects: unknown[];
  applied: unknown[];
}

async function schema(): Promise<Schema> {
  const objects = await env.DB.prepare(
    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
  ).all();
  const applied = await env.DB.prepare("SELECT id, name FROM d1_migrations ORDER BY id").all();
  return { objects: objects.results, applied: applied.results };
}

describe("the migrations applied at once", () => {
  it("leave the same tables, indexes, triggers and views as applyD1Migrations, and the same record", async () => {
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    const oneByOne = await schema();

    await reset();
    await applyMigrationsAtOnce(env.DB, env.TEST_MIGRATIONS);
    const atOnce = await schema();

    expect(atOnce).toEqual(oneByOne);
    // Not two empty lists: every migration is recorded, and triggers are among the objects.
    expect(oneByOne.applied).toHaveLength(env.TEST_MIGRATIONS.length);
    expect(oneByOne.objects).toContainEqual(expect.objectContaining({ type: "trigger" }));
    expect(oneByOne.objects.length).toBeGreaterThan(env.TEST_MIGRATIONS.length);
  });

  it("record every migration, so that applyD1Migrations afterwards has nothing left to apply", async () => {
    await reset();
    await applyMigrationsAtOnce(env.DB, env.TEST_MIGRATIONS);
    const before = await schema();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    expect(await schema()).toEqual(before);
  });
});
