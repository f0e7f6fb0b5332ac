import { env } from "cloudflare:test";
import { applyMigrationsAtOnce } from "./migrations";

// Storage is isolated per test file; the migrations are replayed into each file's D1, all in one
// batch (test/db/migrations-at-once.test.ts checks it gives the migrations' exact schema), on the
// main database and on the second partition of the send log (src/db/send-log-partitions.ts).
await Promise.all([
  applyMigrationsAtOnce(env.DB, env.TEST_MIGRATIONS),
  applyMigrationsAtOnce(env.SEND_LOG_2, env.TEST_MIGRATIONS),
]);
