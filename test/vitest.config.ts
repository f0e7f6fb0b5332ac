import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
// A fixed test-only master key (base64 of 32 bytes); wrangler reads required secrets from here.
const TEST_MASTER_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
process.env.MASTER_KEY ??= TEST_MASTER_KEY;
// A fixed test-only platform key (test/support/platform.ts uses the same).
const TEST_PLATFORM_KEY = "rbx_platform_TestPlatformKey00000000000000000";
process.env.PLATFORM_KEY ??= TEST_PLATFORM_KEY;

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  return {
    root,
    test: {
      // The Worker's info and debug log lines (src/lib/log.ts: one per request and per send) are
      // not printed under tests; warnings and errors are. Tests that check lines spy on console.
      onConsoleLog: (log: string) => !/^\{"level":"(info|debug)"/.test(log),
      // Vitest's default is one file at a time on 2 cores (cores - 1), but a file spends most of
      // its time waiting (on its runtime's start, queues, alarms, the network between Node and
      // workerd), not computing: two at a time took ~35% less wall time for the same CPU time.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: path.join(root, "wrangler.toml") },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  MASTER_KEY: TEST_MASTER_KEY,
                  PLATFORM_KEY: TEST_PLATFORM_KEY,
                  RECEIPT_DEADLINE_SECONDS: "2",
                  RETRY_BASE_SECONDS: "0",
                  RELEASE_TIMEOUT_SECONDS: "5",
                  // A few rows per read, so that an export of a handful of rows crosses pages.
                  EXPORT_PAGE_SIZE: "3",
                  // The local WeChat sandbox, on as under `npm start`; its tests turn it off to
                  // see the deployed Worker (wrangler.toml's "false").
                  WECHAT_SANDBOX_ENABLED: "true",
                  // The pool's Analytics Engine simulation keeps the run from ever exiting once a
                  // data point is written; the metric itself is tested with a fake dataset.
                  SEND_METRICS_ENABLED: "false",
                  // Info lines (one per request and per send) printed while a file's storage is
                  // torn down with a send still in flight keep the pool from ever exiting; the
                  // lines' content is tested through the logger and with spies.
                  LOG_LEVEL: "warn",
                },
                // Deliver queue batches at once instead of after max_batch_timeout.
                queueConsumers: {
                  "relaybox-dispatch": { maxBatchTimeout: 0 },
                  "relaybox-dispatch-dlq": { maxBatchTimeout: 0 },
                  "relaybox-dispatch-bulk": { maxBatchTimeout: 0 },
                  "relaybox-dispatch-bulk-dlq": { maxBatchTimeout: 0 },
                  "relaybox-webhooks": { maxBatchTimeout: 0 },
                  "relaybox-webhooks-dlq": { maxBatchTimeout: 0 },
                  "relaybox-inbound": { maxBatchTimeout: 0 },
                  "relaybox-inbound-dlq": { maxBatchTimeout: 0 },
                  "relaybox-wechat-sync": { maxBatchTimeout: 0 },
                  "relaybox-wechat-sync-dlq": { maxBatchTimeout: 0 },
                },
              },
            }),
          ],
          test: {
            name: "workers",
            root,
            include: ["test/**/*.test.ts"],
            exclude: ["test/e2e/**"],
            setupFiles: ["test/setup/apply-migrations.ts"],
            // The plugin inlines every dependency, so without pre-bundling each test file's fresh
            // runtime fetched and evaluated ~430 modules of hono, zod, drizzle, libphonenumber-js,
            // jose… one by one before its first test. Bundled once per run into a handful of
            // files (node_modules/.vite), each file's start-up takes about half as long. The list
            // is every package entry that src imports: add a new one here, or it is served the
            // slow way, module by module.
            deps: {
              optimizer: {
                ssr: {
                  enabled: true,
                  include: [
                    "@hono/swagger-ui",
                    "@hono/zod-openapi",
                    "countries-and-timezones",
                    "d3-dsv",
                    "drizzle-orm",
                    "drizzle-orm/batch",
                    "drizzle-orm/d1",
                    "drizzle-orm/sqlite-core",
                    "fast-xml-parser",
                    "hono",
                    "hono/cookie",
                    "hono/factory",
                    "hono/http-exception",
                    "hono/jsx",
                    "hono/jsx/jsx-dev-runtime",
                    "hono/jsx/jsx-runtime",
                    "hono/secure-headers",
                    "jose",
                    "libphonenumber-js/max",
                    "zod",
                  ],
                },
              },
            },
          },
        },
        {
          test: {
            name: "e2e",
            root,
            // After the Worker's files, one at a time: each starts and kills `wrangler dev`
            // servers and waits on real deadlines, which a busy machine would stretch.
            sequence: { groupOrder: 1 },
            maxWorkers: 1,
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
