/**
 * The deploy dry run CI does (`npm run deploy:check`): `wrangler deploy --dry-run --outdir` bundles
 * the Worker as a deploy would, with every binding of wrangler.toml checked, uploading nothing;
 * then the bundle's gzipped size must stay under 1 MB (the budget; Cloudflare's limit on
 * the free plan is 3 MB). Prints the figures; exits 1 over the budget or when the bundle holds the
 * API client (src/client, which is not part of the Worker).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { nodeBinary, WRANGLER_JS, wranglerEnv } from "./local-server.mjs";
import { ROOT } from "./seed.mjs";

export const LIMIT_BYTES = 1024 * 1024;

const outdir = mkdtempSync(join(tmpdir(), "relaybox-bundle-"));
try {
  const result = spawnSync(nodeBinary(), [WRANGLER_JS, "deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    env: wranglerEnv({ CI: "true" }),
    encoding: "utf8",
  });
  if (result.status !== 0) {
    console.error(result.stdout, result.stderr);
    process.exit(1);
  }
  let raw = 0;
  let gzipped = 0;
  let text = "";
  for (const name of readdirSync(outdir)) {
    const file = join(outdir, name);
    if (!statSync(file).isFile() || name.endsWith(".map") || name === "README.md") {
      continue;
    }
    const bytes = readFileSync(file);
    raw += bytes.length;
    gzipped += gzipSync(bytes, { level: 9 }).length;
    text += bytes.toString("utf8");
  }
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`bundle: ${kib(raw)}, ${kib(gzipped)} gzipped (budget ${kib(LIMIT_BYTES)})`);
  if (gzipped === 0 || gzipped >= LIMIT_BYTES) {
    console.error("The Worker's bundle is over its 1 MB gzipped budget (or empty).");
    process.exit(1);
  }
  if (text.includes("Relaybox: apiKey is required")) {
    console.error("The API client (src/client) ended up in the Worker's bundle.");
    process.exit(1);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
