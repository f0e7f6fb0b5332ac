import { applyD1Migrations, env } from "cloudflare:test";

// Storage is isolated per test file; the migrations are replayed into each file's D1.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
