import { env } from "cloudflare:test";
import { applyMigrationsAtOnce } from "./migrations";

// Storage is isolated per test file; the migrations are replayed into each file's D1, all in one
// batch (test/db/migrations-at-once.test.ts checks it gives the migrations' exact schema).
await applyMigrationsAtOnce(env.DB, env.TEST_MIGRATIONS);
